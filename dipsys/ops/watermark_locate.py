"""Where photos that share one watermark carry it: a box from the joint footprint cut.

Photos under one logo at one place share its outline and nothing else, so the joint cut of
:func:`dipsys.ops.watermark_blind.blind_remove` on the stack saves the most energy per pixel
where the logo lies. The stack is halved in resolution (at most ``max_side`` pixels on its
longest side, so the cost stays bounded for large photos) and cut in a ``grid × grid`` set of
overlapping windows of half its size; the window whose winning hypothesis saves the most
energy per pixel (``gain``) is taken, and the box is its footprint's bounding box, back at the
original resolution and grown by ``margin`` pixels (the removal fixes the box's border off the
logo). The box found is only a proposal: the removal inside it is checked as a given box is
(:func:`dipsys.ops.watermark_blind.checked_remove`), and the input is kept when the check fails.

.. math:: w^* = \\arg\\max_w \\, \\mathrm{gain}(I_{1..N}[w]), \\qquad
    B = \\mathrm{bbox}(F_{w^*}) \\oplus \\mathrm{margin}
"""

from __future__ import annotations

import cv2
import numpy as np

from dipsys.ops.watermark_blind import blind_remove

__all__ = ["locate_shared_watermark"]


def locate_shared_watermark(
    images: np.ndarray, grid: int = 3, margin: int = 6, scale: float = 0.5, max_side: int = 256
) -> list[int] | None:
    """The box of a watermark that the images share at one place (module docstring).

    Args:
        images: the photos, same size, RGB in [0, 1].
        grid: windows per side (``grid²`` cuts, each a window of half the image's sides).
        margin: pixels added around the footprint's bounding box.
        scale: the resolution the search runs at (a cut costs about its pixel count).
        max_side: the longest side of the search at most (a smaller scale for large photos).

    Returns:
        ``[x0, y0, x1, y1]`` (pixels of the originals, end exclusive), or None when no window's
        cut finds a footprint.

    Raises:
        ValueError: fewer than two images, or images too small to window (under 32 px a side).

    Shape:
        - images: ``(N, H, W, 3)``, N ≥ 2
        - output: four ints with ``0 ≤ x0 < x1 ≤ W`` and ``0 ≤ y0 < y1 ≤ H``, or None
    """
    stack = np.asarray(images, np.float64)
    if stack.ndim != 4 or stack.shape[0] < 2 or stack.shape[-1] != 3:
        raise ValueError(f"expected a stack of two or more RGB images, got {stack.shape}")
    height, width = stack.shape[1:3]
    if min(height, width) < 32:
        raise ValueError(f"images of {width}×{height} are too small to search (32 px a side)")
    scale = min(scale, max_side / max(height, width))
    small_w, small_h = max(16, round(width * scale)), max(16, round(height * scale))
    small = np.stack(
        [
            cv2.resize(image.astype(np.float32), (small_w, small_h), interpolation=cv2.INTER_AREA)
            for image in stack
        ]
    ).astype(np.float64)
    win_h, win_w = small_h // 2, small_w // 2
    best = None
    for y in np.linspace(0, small_h - win_h, grid).astype(int):
        for x in np.linspace(0, small_w - win_w, grid).astype(int):
            window = small[:, y : y + win_h, x : x + win_w]
            found = blind_remove(window, rounds=1, colour_rounds=0, null_step=False)
            if found["footprint"].any() and (best is None or found["gain"] > best[0]):
                best = (found["gain"], int(x), int(y), found["footprint"])
    if best is None:
        return None
    _, x, y, footprint = best
    rows, cols = np.nonzero(footprint)
    sx, sy = width / small_w, height / small_h
    return [
        max(0, int(np.floor((x + cols.min()) * sx)) - margin),
        max(0, int(np.floor((y + rows.min()) * sy)) - margin),
        min(width, int(np.ceil((x + cols.max() + 1) * sx)) + margin),
        min(height, int(np.ceil((y + rows.max() + 1) * sy)) + margin),
    ]
