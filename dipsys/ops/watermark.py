"""Watermark removal at full resolution: layers of a window placed back into the image, the
removal by inverting the compositing equation, and a check that needs no ground truth.

The generators of a watermark task run on a window around the box (see
``SingleImageDataModule(window=...)``). The clean image is not the clean generator's output,
which is as smooth as a deep image prior early in its fit, but the input with the recovered
watermark taken out:

.. math:: C = \\frac{I - M W}{1 - M}

at the original resolution, so every texture under a semi-transparent watermark is kept.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from dipsys.ops.compositing import remove_watermark
from dipsys.ops.resize import resize

__all__ = [
    "edge_energy",
    "gradient_magnitude",
    "place_window",
    "removal_check",
    "watermark_parts",
]


def place_window(
    layer: Tensor, window: tuple[int, int, int, int], size: tuple[int, int], fill: float = 0.0
) -> Tensor:
    """A layer of the window, resized to the window's original size, on a canvas of ``size``.

    .. math:: out(y, x) = \\text{resize}(L)(y - y_0, x - x_0) \\text{ inside the window, else fill}

    Args:
        layer: the layer at the working size.
        window: ``(x0, y0, x1, y1)`` in pixels of the original (end exclusive).
        size: the original's ``(H, W)``.
        fill: value outside the window.

    Shape:
        - layer: ``(B, C, h, w)``; output: ``(B, C, H, W)``
    """
    x0, y0, x1, y1 = window
    canvas = layer.new_full((layer.shape[0], layer.shape[1], *size), fill)
    canvas[..., y0:y1, x0:x1] = resize(layer, (y1 - y0, x1 - x0), mode="bilinear")
    return canvas


def gradient_magnitude(image: Tensor) -> Tensor:
    """Per-pixel ``|∂x I| + |∂y I|`` (forward differences, channels summed).

    Shape:
        - image: ``(B, C, H, W)``; output: ``(B, 1, H, W)``
    """
    dx = F.pad((image[..., :, 1:] - image[..., :, :-1]).abs(), (0, 1, 0, 0))
    dy = F.pad((image[..., 1:, :] - image[..., :-1, :]).abs(), (0, 0, 0, 1))
    return (dx + dy).sum(dim=1, keepdim=True)


def edge_energy(image: Tensor, weight: Tensor) -> Tensor:
    """Weighted mean gradient magnitude.

    .. math:: E = \\frac{\\sum_p w_p \\, \\lVert \\nabla I_p \\rVert_1}{\\sum_p w_p}

    Shape:
        - image: ``(B, C, H, W)``; weight: ``(B, 1, H, W)``; output: ``(B,)``
    """
    total = (gradient_magnitude(image) * weight).sum(dim=(1, 2, 3))
    return total / weight.sum(dim=(1, 2, 3)).clamp_min(1e-8)


def watermark_parts(mask: Tensor, level: float, grow: int) -> np.ndarray:
    """The connected parts of the recovered watermark, ``M > level``, each grown by ``grow``
    pixels so that it holds its own edges; 0 is background, parts are 1, 2, ….

    Shape:
        - mask: ``(1, 1, H, W)``; output: ``(H, W)`` int32
    """
    support = (mask[0, 0].detach().cpu().numpy() > level).astype(np.uint8)
    if grow > 0:
        support = cv2.dilate(support, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
    return cv2.connectedComponents(support, connectivity=8)[1]


def removal_check(
    image: Tensor,
    watermark: Tensor,
    mask: Tensor,
    box: Tensor,
    max_edge_ratio: float,
    min_opacity: float,
    grow: int = 2,
) -> tuple[Tensor, dict[str, Any], str]:
    """Remove the watermark part by part, keeping the input where a part does not explain it.

    Without ground truth, a connected part of the recovered watermark (``M`` above half its
    peak, grown by ``grow`` pixels) is removed when taking it out lowers the edge energy there,
    ``E_part(C) / E_part(I) ≤ max_edge_ratio``, with ``C = (I − M W) / (1 − M)``: a watermark
    adds the edges of its shape to the image, so removing a real one removes edges, while a
    part that took in the photo's own content leaves a ghost of it (new edges) when taken out.
    Elsewhere, and everywhere when the peak opacity is below ``min_opacity`` (no watermark),
    the input is kept.

    Args:
        image: the input ``I`` at the original size.
        watermark, mask: ``W`` and ``M`` at the original size, ``M`` zero outside the box.
        box: the box, 1 inside.
        max_edge_ratio: the largest ``E(C) / E(I)`` of a part that counts as an improvement.
        min_opacity: the least peak opacity that counts as a watermark.
        grow: pixels added around each part.

    Returns:
        The clean image, the check's figures (``parts``, ``parts_removed``, ``edge_ratio`` of
        the result in the box, ``peak_opacity``) and the reason the whole input was kept (""
        when some part was removed).

    Shape:
        - image, watermark: ``(1, 3, H, W)``; mask, box: ``(1, 1, H, W)``; output like image
    """
    mask = mask * box
    peak = float(mask.amax())
    removed = remove_watermark(image, watermark, mask)
    parts = watermark_parts(mask, 0.5 * peak, grow) if peak >= min_opacity else None
    count = 0 if parts is None else int(parts.max())
    keep_part = torch.zeros(count + 1, dtype=torch.bool)
    if count:
        labels = torch.from_numpy(parts).long().to(image.device).flatten()
        inside = box.flatten() > 0
        sums = []
        for estimate in (image, removed):
            energy = gradient_magnitude(estimate).flatten() * inside
            sums.append(torch.zeros(count + 1, device=image.device).index_add_(0, labels, energy))
        keep_part = (sums[1] <= max_edge_ratio * sums[0]).cpu()
        keep_part[0] = False
    chosen = keep_part[torch.from_numpy(parts).long()] if count else torch.zeros(mask.shape[-2:])
    chosen = chosen.to(image)[None, None] * box
    clean = chosen * removed + (1 - chosen) * image
    ratio = float(edge_energy(clean, box)[0] / edge_energy(image, box)[0].clamp_min(1e-8))
    removed_parts = int(keep_part.sum())
    figures = {
        "parts": count,
        "parts_removed": removed_parts,
        "edge_ratio": round(ratio, 4),
        "peak_opacity": round(peak, 4),
    }
    reason = ""
    if peak < min_opacity:
        reason = f"no watermark found in the box (peak opacity {peak:.3f} < {min_opacity})"
    elif removed_parts == 0:
        reason = (
            f"removing no part of the recovered watermark lowers the edge energy there "
            f"(threshold {max_edge_ratio}): the decomposition does not explain the box"
        )
    return clean, figures, reason
