"""Stage page: custom_module."""
from pages.common import stage_page

stage_page("custom_module")
