"""Segmentation cases: a foreground blob over a background, and K-region composites."""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from dipsys.data.synthetic.samples import (
    fit_to_size,
    random_field,
)


def _largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 8-connected component of a binary mask, with its holes filled."""
    count, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros_like(mask, dtype=bool)
    areas = np.bincount(labels.ravel(), minlength=count)[1:]
    blob = labels == 1 + int(np.argmax(areas))
    # A hole is a background component (4-connected) that does not touch the border.
    count, outside = cv2.connectedComponents((~blob).astype(np.uint8), connectivity=4)
    border = np.concatenate([outside[0], outside[-1], outside[:, 0], outside[:, -1]])
    open_labels = np.unique(border[border > 0])
    return blob | ((outside > 0) & ~np.isin(outside, open_labels))


def blob_mask(height: int, width: int, seed: int, coverage: float = 0.35) -> torch.Tensor:
    """A binary mask of one smooth random blob covering about ``coverage`` of the image.

    A low-frequency random field, pulled down towards the border so the blob sits inside the
    frame, is thresholded; the largest connected component is kept and its holes filled. The
    threshold is bisected until the blob's area is as close to ``coverage`` as it gets.

    Shape:
        - Output: :math:`(1, H, W)` with values in {0, 1}
    """
    if not 0.0 < coverage < 1.0:
        raise ValueError(f"coverage must lie in (0, 1), got {coverage}")
    gen = torch.Generator().manual_seed(seed)
    ys = torch.linspace(-1, 1, height).view(-1, 1)
    xs = torch.linspace(-1, 1, width).view(1, -1)
    field = (random_field(height, width, gen, grid=4) - 0.5 * (xs**2 + ys**2)).numpy()
    low, high = float(field.min()), float(field.max())
    best, best_error = None, math.inf
    for _ in range(20):
        threshold = (low + high) / 2
        blob = _largest_component(field > threshold)
        area = blob.mean()
        if abs(area - coverage) < best_error:
            best, best_error = blob, abs(area - coverage)
        low, high = (threshold, high) if area > coverage else (low, threshold)
    return torch.from_numpy(best.astype(np.float32))[None]


def fg_bg_composite(
    foreground: torch.Tensor,
    background: torch.Tensor,
    seed: int = 0,
    size: tuple[int, int] = (128, 128),
) -> dict[str, torch.Tensor]:
    """Paste a foreground texture over a background texture through a random blob.

    .. math:: I = m \\cdot F + (1 - m) \\cdot B

    Both textures are cropped at a random offset and resized to ``size``; ``m`` is
    :func:`blob_mask` of the seed.

    Returns:
        ``image``, ``mask``, ``foreground`` and ``background`` (the fitted textures).

    Shape:
        - foreground, background: :math:`(3, H_i, W_i)`, any size
        - image, foreground, background: :math:`(3, h, w)`; mask: :math:`(1, h, w)`
    """
    gen = torch.Generator().manual_seed(seed)
    fore = fit_to_size(foreground.float(), size, gen)
    back = fit_to_size(background.float(), size, gen)
    mask = blob_mask(*size, seed=seed)
    image = mask * fore + (1 - mask) * back
    return {"image": image, "mask": mask, "foreground": fore, "background": back}


def _region_labels(count: int, size: tuple[int, int], gen: torch.Generator) -> torch.Tensor:
    """Labels of ``count`` smooth regions: the argmax of smooth random fields.

    A label whose region is smaller than a third of its fair share gets its field raised a bit
    at a time, so every label appears with a usable area.

    Shape:
        - Output: :math:`(H, W)` int64 in 0..count-1
    """
    fields = torch.stack([random_field(*size, gen, grid=3) for _ in range(count)])
    minimum = size[0] * size[1] / (3 * count)
    for _ in range(200):
        labels = fields.argmax(dim=0)
        areas = torch.bincount(labels.ravel(), minlength=count)
        smallest = int(areas.argmin())
        if areas[smallest] >= minimum:
            break
        fields[smallest] += 0.02
    return labels


def region_composite(
    layers: Sequence[torch.Tensor], seed: int = 0, size: tuple[int, int] = (128, 128)
) -> dict[str, torch.Tensor]:
    """Tile an image with K smooth regions, region k filled from layer k.

    .. math:: I = \\sum_k [\\ell = k] \\cdot L_k

    Returns:
        ``image``, ``labels`` and ``layers`` (the layers cropped and resized to ``size``).

    Shape:
        - layers: K tensors :math:`(3, H_k, W_k)`, any sizes, K >= 2
        - image: :math:`(3, h, w)`; labels: :math:`(1, h, w)` int64; layers: :math:`(K, 3, h, w)`
    """
    if len(layers) < 2:
        raise ValueError(f"region_composite needs at least 2 layers, got {len(layers)}")
    gen = torch.Generator().manual_seed(seed)
    fitted = torch.stack([fit_to_size(layer.float(), size, gen) for layer in layers])
    labels = _region_labels(len(layers), size, gen)
    onehot = F.one_hot(labels, len(layers)).permute(2, 0, 1).float()
    image = (onehot[:, None] * fitted).sum(dim=0)
    return {"image": image, "labels": labels[None], "layers": fitted}
