"""Stage page: custom_function."""
from ui.stage_page import stage_page

stage_page("custom_function")
