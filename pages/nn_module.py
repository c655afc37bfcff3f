"""Stage page: nn_module."""
from pages.common import stage_page

stage_page("nn_module")
