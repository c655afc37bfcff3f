"""Stage page: autograd."""
from pages.common import stage_page

stage_page("autograd")
