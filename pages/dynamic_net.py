"""Stage page: dynamic_net."""
from pages.common import stage_page

stage_page("dynamic_net")
