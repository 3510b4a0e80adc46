"""Finding the box of a logo that several photos share (synthetic photos made here)."""

from __future__ import annotations

import numpy as np
import pytest

from dipsys.ops.watermark_locate import locate_shared_watermark
from tests.conftest import textured_photos

HEIGHT, WIDTH = 120, 160
LOGO_BOX = [84, 20, 144, 60]  # x0, y0, x1, y1 of the logo below


def _photos(count: int = 3) -> np.ndarray:
    """Textured photos: coarse colour blobs and fine grain, different in each."""
    return textured_photos(count, HEIGHT, WIDTH, blobs=(6, 8), grain=0.08)


def _logo() -> np.ndarray:
    """Block letters "H" and "I" filling LOGO_BOX."""
    logo = np.zeros((HEIGHT, WIDTH), bool)
    x0, y0, x1, y1 = LOGO_BOX
    logo[y0:y1, x0 : x0 + 10] = logo[y0:y1, x0 + 26 : x0 + 36] = True  # the H's stems
    logo[y0 + 15 : y0 + 25, x0 : x0 + 36] = True  # its bar
    logo[y0:y1, x1 - 10 : x1] = True  # the I
    return logo


def _under_logo(photos: np.ndarray, opacity: float = 0.25) -> np.ndarray:
    m = opacity * _logo()[..., None]
    return np.round(((1 - m) * photos + m * np.array([1.0, 1.0, 0.95])) * 255) / 255


def test_the_box_found_holds_the_shared_logo_and_little_else():
    box = locate_shared_watermark(_under_logo(_photos()))
    assert box is not None
    x0, y0, x1, y1 = box
    tx0, ty0, tx1, ty1 = LOGO_BOX
    assert x0 <= tx0 and y0 <= ty0 and x1 >= tx1 and y1 >= ty1  # the whole logo
    assert (x1 - x0) * (y1 - y0) < 2 * (tx1 - tx0) * (ty1 - ty0)  # with a margin, not the photo


def test_the_logo_is_found_wherever_it_lies():
    photos = _photos()
    shifted = np.roll(_under_logo(photos), (50, -70), axis=(1, 2))  # now near the bottom left
    box = locate_shared_watermark(shifted)
    assert box is not None and box[0] <= 14 and box[2] >= 74 and box[1] <= 70 and box[3] >= 110
    assert (box[2] - box[0]) * (box[3] - box[1]) < 2 * 60 * 40


@pytest.mark.parametrize("shape", [(1, 64, 64, 3), (3, 20, 64, 3), (3, 64, 64)])
def test_bad_stacks_are_refused(shape):
    with pytest.raises(ValueError):
        locate_shared_watermark(np.zeros(shape))
