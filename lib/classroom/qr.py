"""A link as a QR code (segno), for students' phones: an SVG made from exactly the link's text."""
from __future__ import annotations

import segno

ERROR_LEVEL = "m"   # ~15% of the code may be lost (glare on a projector screen) and it still reads


def qr_code(link: str) -> segno.QRCode:
    """The smallest full QR code that holds `link` (never a Micro QR, which phones' cameras rarely read)."""
    return segno.make(link, error=ERROR_LEVEL, micro=False, boost_error=False)


def qr_svg(link: str) -> str:
    """The QR code of `link` as SVG markup, black on white with the standard quiet zone, drawn at any size."""
    return qr_code(link).svg_inline(omitsize=True, dark="#000", light="#fff")   # a viewBox: it scales
