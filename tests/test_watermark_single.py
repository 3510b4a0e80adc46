"""One photo's logo removal in its box (``dipsys.ops.watermark_single``), on synthetic logos."""

from __future__ import annotations

import numpy as np

from dipsys.ops.watermark_blind import not_dark
from dipsys.ops.watermark_single import remove_logo
from tests.conftest import psnr_np as _psnr
from tests.conftest import textured_photos


def _letters(height: int = 56, width: int = 120) -> np.ndarray:
    """Block letters "LTI" as a footprint."""
    logo = np.zeros((height, width), bool)
    logo[12:44, 14:24] = logo[36:44, 14:44] = True
    logo[12:44, 54:64] = logo[12:20, 44:74] = True
    logo[12:44, 84:94] = True
    return logo


def test_a_white_logo_on_a_textured_photo_is_removed():
    photo = textured_photos(1, 56, 120, blobs=(4, 8), grain=0.03)[0]
    m = 0.15 * _letters()[..., None]
    image = np.round(((1 - m) * photo + m) * 255) / 255
    out = remove_logo(image)
    assert not out["kept_input"], out["check"]
    assert _psnr(out["result"], photo) > _psnr(image, photo) + 5  # 35.7 against 28.8 dB
    assert not_dark(out["colour"])
    iou = (out["footprint"] & _letters()).sum() / (out["footprint"] | _letters()).sum()
    assert iou > 0.7


def test_a_box_without_an_outline_is_kept_as_it_is():
    flat = np.full((40, 80, 3), 0.4)
    out = remove_logo(flat)
    assert out["kept_input"] and out["check"]["failed"]
    assert out["result"] is flat
