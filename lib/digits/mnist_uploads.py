"""Try your own digit: a PNG or JPEG (or a drawing) made into a digit as MNIST writes them, and the model's answer."""
from __future__ import annotations

import io
import math

import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError

from lib.digits.mnist_data import MEAN, SIDE, STD
from lib.digits.mnist_training import predict


MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_UPLOAD_PIXELS = 4096 * 4096        # decoded size; far below PIL's own bomb limit
MAX_DECODE_BYTES = 22 * 2**20          # what PIL may hold for a decoded PNG (JPEGs are decoded already shrunk);
# with the decoder's own buffers a picture at this limit adds 26-28 MB (tests/test_mnist.py keeps it under 30)
WORK_SIDE = 512                        # longest side the picture is shrunk to before any conversion
DIGIT_BOX = 20                         # MNIST fits each digit in a 20x20 box inside the 28x28 frame
# bytes per pixel PIL holds at once while decoding a PNG and shrinking it: RGB is stored in 4 bytes, reduce
# premultiplies alpha in a copy, and modes it cannot average are first converted to L (RGBA if transparent)
_DECODE_COST = {"L": 1, "RGB": 4, "RGBA": 8, "LA": 8, "1": 2, "P": 2, "I;16": 3, "I;16B": 3, "I": 5}


class UploadError(ValueError):
    """An upload that is not a usable PNG/JPEG digit: a message code and its values, for the page to render."""

    def __init__(self, code: str, **values):
        super().__init__(code, values)
        self.code, self.values = code, values

    def __str__(self) -> str:
        return f"{self.code} {self.values}" if self.values else self.code


def digit_from_upload(raw: bytes, max_bytes: int = MAX_UPLOAD_BYTES) -> torch.Tensor:
    """A PNG/JPEG as MNIST sees digits: (28, 28) float in [0, 1], light ink on black with the paper's own
    shade taken away, the digit cropped to its bounding box, scaled so its longer side is 20 pixels, and
    placed by its centre of mass.

    The picture is shrunk to at most WORK_SIDE pixels before anything else is made of it (JPEGs while
    decoding), so a large photo costs a few MB, not hundreds."""
    if len(raw) == 0:
        raise UploadError("upload.empty")
    if len(raw) > max_bytes:
        raise UploadError("upload.too_big", size=len(raw) / 2**20, limit=max_bytes / 2**20)
    try:
        with Image.open(io.BytesIO(raw), formats=["PNG", "JPEG"]) as img:
            width, height = img.size
            if width * height > MAX_UPLOAD_PIXELS:
                raise UploadError("upload.too_many_pixels", width=width, height=height,
                                  limit=MAX_UPLOAD_PIXELS)
            if img.format == "JPEG":
                img.draft("L", (WORK_SIDE, WORK_SIDE))   # the decoder itself scales by 1/2, 1/4 or 1/8
            elif width * height * _decode_cost(img) > MAX_DECODE_BYTES:
                side = math.isqrt(MAX_DECODE_BYTES // _decode_cost(img))
                raise UploadError("upload.too_large_to_decode", width=width, height=height, side=side)
            img.load()
            grey = _flatten_alpha(_shrink(img)).convert("L")
    except UploadError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError):
        raise UploadError("upload.not_an_image") from None
    except (OSError, SyntaxError, ValueError):
        raise UploadError("upload.undecodable") from None
    height, width = grey.height, grey.width
    pixels = torch.frombuffer(bytearray(grey.tobytes()), dtype=torch.uint8).view(height, width).float() / 255.0
    border = torch.cat([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    if border.median() > 0.5:                 # dark ink on light paper: MNIST is light ink on black
        pixels = 1.0 - pixels
    pixels = (pixels - _background(pixels)).clamp(min=0)   # grey or unevenly lit paper becomes black
    if pixels.max() < 0.1:
        raise UploadError("upload.no_digit")
    pixels = pixels / pixels.max()
    ink = pixels > 0.2
    rows, cols = ink.any(1).nonzero().flatten(), ink.any(0).nonzero().flatten()
    crop = pixels[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    scale = DIGIT_BOX / max(crop.shape)
    size = (max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale)))
    small = F.interpolate(crop[None, None], size=size, mode="bilinear", antialias=True, align_corners=False)[0, 0]
    # MNIST's own recipe: the box goes where its centre of mass lands on the frame's centre
    mass = small.sum()
    centre_row = (small.sum(1) * torch.arange(size[0])).sum() / mass
    centre_col = (small.sum(0) * torch.arange(size[1])).sum() / mass
    top = min(max(round(SIDE / 2 - 0.5 - centre_row.item()), 0), SIDE - size[0])
    left = min(max(round(SIDE / 2 - 0.5 - centre_col.item()), 0), SIDE - size[1])
    digit = torch.zeros(SIDE, SIDE)
    digit[top:top + size[0], left:left + size[1]] = small
    return digit.clamp(0, 1)


def _has_alpha(img: Image.Image) -> bool:
    return img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)


def _decode_cost(img: Image.Image) -> int:
    return 9 if img.mode == "P" and _has_alpha(img) else _DECODE_COST.get(img.mode, 8)


def _shrink(img: Image.Image) -> Image.Image:
    """At most WORK_SIDE pixels on the longer side: Image.reduce averages whole blocks."""
    factor = math.ceil(max(img.size) / WORK_SIDE)
    if factor <= 1:
        return img
    if img.mode not in ("L", "RGB", "RGBA", "LA"):
        img = img.convert("RGBA" if _has_alpha(img) else "L")   # palette, 1-bit, 16-bit: what reduce averages
    return img.reduce(factor)


def _background(pixels: torch.Tensor) -> torch.Tensor:
    """The paper's shade under the digit (ink is light): a grey-scale opening, taken on a 64-pixel copy and
    smoothed, so a shadow or a lighting gradient across the sheet is subtracted with the paper's grey.

    The opening (minimum, then maximum, over a window a quarter of the picture wide) removes every light
    structure narrower than the window, which a pen stroke is; what remains is the slowly varying paper."""
    height, width = pixels.shape
    scale = 64 / max(height, width)
    coarse_size = (max(1, round(height * scale)), max(1, round(width * scale)))
    coarse = F.interpolate(pixels[None, None], size=coarse_size, mode="area")
    k = 17                                      # a quarter of the 64-pixel copy, odd so it has a centre
    padded = F.pad(coarse, (k // 2,) * 4, mode="replicate")
    opened = -F.max_pool2d(-padded, k, stride=1)                      # minimum: the strokes vanish
    opened = F.max_pool2d(F.pad(opened, (k // 2,) * 4, mode="replicate"), k, stride=1)   # maximum: paper back
    smooth = F.avg_pool2d(F.pad(opened, (k // 2,) * 4, mode="replicate"), k, stride=1)
    return F.interpolate(smooth, size=(height, width), mode="bilinear", align_corners=False)[0, 0]


def _flatten_alpha(img: Image.Image) -> Image.Image:
    """Transparent pixels become white paper, so a drawing exported with alpha reads as ink on paper."""
    if _has_alpha(img):
        rgba = img.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(paper, rgba)
    return img


def predict_digit(model: torch.nn.Module, digit: torch.Tensor) -> torch.Tensor:
    """(10,) probabilities for one (28, 28) digit in [0, 1]."""
    x = ((digit - MEAN) / STD).view(1, 1, SIDE, SIDE)
    return predict(model, x)[0]
