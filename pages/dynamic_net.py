"""Stage page: dynamic_net."""
from ui.stage_page import stage_page

stage_page("dynamic_net")
