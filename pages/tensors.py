"""Stage page: tensors."""
from ui.stage_page import stage_page

stage_page("tensors")
