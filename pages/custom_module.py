"""Stage page: custom_module."""
from ui.stage_page import stage_page

stage_page("custom_module")
