"""Stage page: optim."""
from ui.stage_page import stage_page

stage_page("optim")
