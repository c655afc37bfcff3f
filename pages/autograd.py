"""Stage page: autograd."""
from ui.stage_page import stage_page

stage_page("autograd")
