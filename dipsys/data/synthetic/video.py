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


def panning_video(
    image: torch.Tensor,
    frames: int = 8,
    size: tuple[int, int] = (96, 96),
    travel: float = 0.5,
    seed: int = 0,
) -> torch.Tensor:
    """A camera panning across ``image``: a window sliding along a straight line.

    The scene is fitted to the frame height and ``(1 + travel)`` frame widths, and the window
    moves from one end to the other (direction chosen at random), so every pixel of the frame
    sees the scene move by ``travel·w / (T − 1)`` pixels per frame.

    Shape:
        - image: :math:`(3, H_i, W_i)`, any size; output: :math:`(T, 3, h, w)`
    """
    height, width = size
    gen = torch.Generator().manual_seed(seed)
    span = round(travel * width)
    scene = fit_to_size(image.float(), (height, width + span), gen)
    lefts = torch.linspace(0, span, frames).round().long().tolist()
    if torch.rand((), generator=gen).item() < 0.5:
        lefts = lefts[::-1]
    return torch.stack([scene[:, :, left : left + width] for left in lefts])


def transparent_video(
    transmission: torch.Tensor, reflection: torch.Tensor, alphas: tuple[float, float] = (0.55, 0.7)
) -> dict[str, torch.Tensor]:
    """A moving transmission seen through a static reflection of varying strength.

    .. math:: I_k = \\alpha_k \\cdot Y_k + (1 - \\alpha_k) \\cdot R

    with ``α_k`` easing from ``alphas[0]`` to ``alphas[1]`` (a half cosine).

    Returns:
        ``frames``, ``transmission`` (the frames of Y), ``reflection`` (R) and ``alpha``.

    Shape:
        - transmission: :math:`(T, 3, H, W)`; reflection: :math:`(3, H, W)`
        - frames: :math:`(T, 3, H, W)`; alpha: :math:`(T,)`
    """
    frames = transmission.shape[0]
    ease = (1 - torch.cos(torch.linspace(0, math.pi, frames))) / 2
    alpha = alphas[0] + (alphas[1] - alphas[0]) * ease
    weight = alpha.view(frames, 1, 1, 1)
    video = weight * transmission.float() + (1 - weight) * reflection.float()[None]
    return {
        "frames": video.clamp(0, 1),
        "transmission": transmission.float(),
        "reflection": reflection.float(),
        "alpha": alpha,
    }
