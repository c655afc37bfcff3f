"""Stage page: custom_function."""
from pages.common import stage_page

stage_page("custom_function")
