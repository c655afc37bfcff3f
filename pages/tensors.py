"""Stage page: tensors."""
from pages.common import stage_page

stage_page("tensors")
