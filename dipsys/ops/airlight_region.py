"""Airlight from the haziest region: a quad-tree search, then a dark-channel band inside it.

The dark channel estimator (:func:`dipsys.ops.dark_channel.estimate_airlight`) takes the
brightest of the haziest pixels. On real photos the sky is often brighter than the airlight
(the annotated airlight matches a band of the sky's gradient, not its brightest patch), so the
brightest haze overshoots. Here:

1. the image is resized to a fixed working side, so the result does not depend on resolution;
2. a quad-tree search (after Kim et al., 2013) keeps, level after level, the quadrant with the
   largest ``mean − std`` (bright and smooth: dense haze or sky), down to a fraction of the
   image's short side;
3. inside that block, the pixels whose dark channel lies within ``δ`` of the block's largest
   form a band; the airlight is a per-channel quantile of their colours (not the maximum).
"""

from __future__ import annotations

import torch
from torch import Tensor

from dipsys.ops.dark_channel import dark_channel
from dipsys.ops.resize import resize_longest_side

__all__ = ["haziest_block", "haziest_region_airlight"]


def haziest_block(image: Tensor, stop: int) -> tuple[slice, slice]:
    """Quad-tree search for the bright, smooth block of one image.

    .. math:: k^* = \\arg\\max_{k \\in \\{1..4\\}} \\big(\\operatorname{mean}(Q_k) -
        \\operatorname{std}(Q_k)\\big)

    repeated on the chosen quadrant ``Q_{k^*}`` while its short side exceeds ``stop``.

    Args:
        image: One RGB image.
        stop: Smallest block side to split further.

    Returns:
        ``(rows, cols)`` of the block in ``image``.

    Shape:
        - image: ``(3, H, W)``
    """
    top, left = 0, 0
    h, w = image.shape[-2:]
    while min(h, w) > stop:
        hh, hw = h // 2, w // 2
        quads = [(top, left, hh, hw), (top, left + hw, hh, w - hw),
                 (top + hh, left, h - hh, hw), (top + hh, left + hw, h - hh, w - hw)]  # fmt: skip
        scores = [
            float(block.mean() - block.std())
            for block in (image[:, r : r + a, c : c + b] for r, c, a, b in quads)
        ]
        top, left, h, w = quads[max(range(4), key=scores.__getitem__)]
    return slice(top, top + h), slice(left, left + w)


def haziest_region_airlight(
    image: Tensor,
    side: int = 128,
    patch: int = 3,
    block: float = 0.25,
    delta: float = 0.05,
    quantile: float = 0.75,
) -> Tensor:
    """Airlight as a quantile of the haziest band inside the haziest block (one per image).

    .. math:: B = \\{x \\in Q : D(x) \\ge \\max_{y \\in Q} D(y) - \\delta\\}, \\quad
        \\hat A_c = \\operatorname{quantile}_q \\{I_c(x) : x \\in B\\}

    with ``Q`` the block of :func:`haziest_block` and ``D`` the dark channel.

    Args:
        image: Hazy RGB images in [0, 1].
        side: Working longest side (the image is resized to it, up or down).
        patch: Dark-channel window side at the working size.
        block: The quad-tree stops at this fraction of the working image's short side.
        delta: Width of the dark-channel band below the block's haziest value.
        quantile: Per-channel quantile of the band's colours (1 → the band's maximum).

    Returns:
        The airlight colour per image.

    Shape:
        - image: ``(B, 3, H, W)``
        - output: ``(B, 3, 1, 1)``
    """
    small = resize_longest_side(image, side)
    dark = dark_channel(small, patch)
    stop = max(2, round(min(small.shape[-2:]) * block))
    estimates = []
    for picture, darkness in zip(small, dark, strict=True):
        rows, cols = haziest_block(picture, stop)
        region, depth = picture[:, rows, cols].reshape(3, -1), darkness[0, rows, cols].flatten()
        band = region[:, depth >= depth.max() - delta]
        estimates.append(torch.quantile(band, quantile, dim=1))
    return torch.stack(estimates).view(-1, 3, 1, 1).to(image)
