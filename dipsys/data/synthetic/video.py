"""Short videos with exact per-frame ground truth."""

from __future__ import annotations

import math

import torch

from dipsys.data.synthetic.regions import blob_mask
from dipsys.data.synthetic.samples import (
    fit_to_size,
    uniform,
)


def _smooth_path(frames: int, span: tuple[int, int], gen: torch.Generator) -> list[tuple[int, int]]:
    """Top-left corners along a gentle arc across the frame, left↔right, in integer pixels."""
    span_y, span_x = span
    s = torch.linspace(0, 1, frames)
    start = uniform(gen, 0.0, 0.2)
    x = span_x * (start + (0.8 - start) * s)
    if torch.rand((), generator=gen).item() < 0.5:
        x = span_x - x
    y_mid = uniform(gen, 0.3, 0.7) * span_y
    amp = uniform(gen, -0.3, 0.3) * span_y
    y = (y_mid + amp * torch.sin(math.pi * s)).clamp(0, span_y)
    return [(round(float(a)), round(float(b))) for a, b in zip(y, x, strict=True)]


def moving_object_video(
    foreground: torch.Tensor,
    background: torch.Tensor,
    frames: int = 8,
    size: tuple[int, int] = (96, 96),
    seed: int = 0,
) -> dict[str, torch.Tensor]:
    """A blob-shaped foreground patch moving along a smooth path over a static background.

    .. math:: I_k = m_k \\cdot F_k + (1 - m_k) \\cdot B

    The patch (a square of 40% of the shorter side, cut out by :func:`blob_mask`) travels at
    least 60% of the free width, so consecutive masks differ.

    Returns:
        ``frames``, ``masks`` and ``background``.

    Shape:
        - foreground, background: :math:`(3, H_i, W_i)`, any size
        - frames: :math:`(T, 3, h, w)`; masks: :math:`(T, 1, h, w)`; background: :math:`(3, h, w)`
    """
    height, width = size
    gen = torch.Generator().manual_seed(seed)
    back = fit_to_size(background.float(), size, gen)
    side = max(8, round(0.4 * min(height, width)))
    patch = fit_to_size(foreground.float(), (side, side), gen)
    shape = blob_mask(side, side, seed=seed, coverage=0.5)
    masks = torch.zeros(frames, 1, height, width)
    layer = torch.zeros(frames, 3, height, width)
    for k, (top, left) in enumerate(_smooth_path(frames, (height - side, width - side), gen)):
        masks[k, :, top : top + side, left : left + side] = shape
        layer[k, :, top : top + side, left : left + side] = patch
    video = masks * layer + (1 - masks) * back
    return {"frames": video, "masks": masks, "background": back}
