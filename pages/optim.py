"""Stage page: optim."""
from pages.common import stage_page

stage_page("optim")
