"""Stage page: nn_module."""
from ui.stage_page import stage_page

stage_page("nn_module")
