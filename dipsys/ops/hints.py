"""Segmentation hints from a score map: binary masks of pixels known to belong to one layer.

A K-layer segmentation is steered by one hint per layer (``fg``/``bg``, ``fg``/``mg``/``bg`` or
``layer<i>``, see :func:`hint_names`). This module names them and builds them from a score map
(the Double-DIP papers' histogram-equalisation thresholds). Hints from colour clusters are in
:mod:`dipsys.ops.cluster_hints`, hints a user draws (boxes, scribbles) and
:func:`~dipsys.ops.user_hints.exclusive` in :mod:`dipsys.ops.user_hints`. Everything works on
single images: images are ``(3, H, W)`` in [0, 1], hints ``(1, H, W)`` float masks in {0, 1}.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import cv2
import numpy as np
import torch
from torch import Tensor

from dipsys.errors import InputError
from dipsys.ops.labels import single_plane

__all__ = [
    "checked_hint_names",
    "equalize",
    "hint_names",
    "region_depth",
    "threshold_hints",
]

# Histogram-equalisation thresholds of the Double-DIP reference code (8-bit levels).
_FG_ABOVE = 239.5
_BG_AT_MOST = 15.5
_MG_AT_MOST = 80.0
# Half-width (8-bit levels) of the band around each level centre for K > 3 layers.
_BAND = 16.0


def hint_names(count: int) -> list[str]:
    """Hint (and layer) names for a ``count``-layer segmentation.

    ``2 → [fg, bg]``, ``3 → [fg, mg, bg]``, ``K > 3 → [layer0, …, layer{K−1}]``. The first
    name is the most salient layer, the last the background.

    Raises:
        InputError: ``count < 2``.
    """
    if isinstance(count, bool) or not isinstance(count, numbers.Integral) or count < 2:
        raise InputError(f"a segmentation needs at least 2 layers, got {count!r}")
    if count == 2:
        return ["fg", "bg"]
    if count == 3:
        return ["fg", "mg", "bg"]
    return [f"layer{i}" for i in range(count)]


def checked_hint_names(names: Sequence[str]) -> list[str]:
    """The names as a list: at least two (as :func:`hint_names` requires), all different.

    Raises:
        InputError: fewer than two names, or a name given twice.
    """
    names = list(names)
    hint_names(len(names))
    if len(set(names)) != len(names):
        raise InputError(f"hint names must be different, got {names}")
    return names


def equalize(score: Tensor) -> Tensor:
    """Histogram equalisation of a score map, on the 8-bit scale.

    .. math:: e = \\operatorname{equalizeHist}(\\operatorname{round}(255 \\cdot
        \\operatorname{clip}(s, 0, 1)))

    ``cv2.equalizeHist`` maps each level through the cumulative histogram, so ``e`` is roughly
    uniform on [0, 255] whatever the distribution of ``s``: thresholds on ``e`` select fixed
    fractions of the image (the top 1/16 by ``e > 239.5``).

    Args:
        score: Score map in [0, 1].

    Returns:
        The equalised map as float values in [0, 255].

    Shape:
        - score: ``(1, H, W)`` or ``(H, W)``
        - output: ``(1, H, W)``
    """
    plane = single_plane(score, "a score map").detach().to("cpu", torch.float32)
    levels = plane.clamp(0, 1).mul(255).round().to(torch.uint8).contiguous().numpy()
    equalised = cv2.equalizeHist(levels)
    return torch.from_numpy(equalised.astype(np.float32))[None].to(score.device)


def _salient_region(plane: Tensor) -> np.ndarray | None:
    """Otsu's split of a score map, cleaned; None when the score holds no region."""
    levels = plane.clamp(0, 1).mul(255).round().to(torch.uint8).contiguous().numpy()
    if int(levels.max()) == int(levels.min()):
        return None
    _, region = cv2.threshold(levels, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    radius = max(1, round(0.015 * max(levels.shape)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2)
    cleaned = cv2.morphologyEx(region, cv2.MORPH_OPEN, kernel)
    cleaned = cv2.morphologyEx(cleaned, cv2.MORPH_CLOSE, kernel)
    if cleaned.any() and not cleaned.all():
        region = cleaned
    if region.all() or not region.any():
        return None
    return region


def _signed_distance(region: np.ndarray) -> np.ndarray:
    """Distance to the region's border, positive inside, negative outside (pixels)."""
    inside = cv2.distanceTransform(region, cv2.DIST_L2, 5)
    outside = cv2.distanceTransform(1 - region, cv2.DIST_L2, 5)
    return inside - outside


def region_depth(score: Tensor) -> Tensor:
    """A saliency map reshaped into depth inside / outside its salient region.

    .. math:: R = \\{s > \\tau_{Otsu}\\}, \\qquad
        d(x) = \\operatorname{dist}(x, \\bar R) - \\operatorname{dist}(x, R)

    normalised to [0, 1]. ``R`` is cleaned by an opening and a closing (radius ~1.5% of the
    longest side); the raw score, with a ``1e-3`` weight, breaks ties. Thresholds on ``d`` pick
    the region's deepest interior and the pixels farthest from it, instead of the score's raw
    extremes: a textured object's saliency peaks on its contour and on high-contrast grain, so
    the top fraction of the raw score is a thin outline, a poor hint for the layer inside it.

    Args:
        score: Saliency map in [0, 1].

    Returns:
        The depth map in [0, 1]; the score itself when it is flat (no region to find).

    Shape:
        - score: ``(1, H, W)`` or ``(H, W)``
        - output: ``(1, H, W)``
    """
    plane = single_plane(score, "a score map").detach().to("cpu", torch.float32)
    region = _salient_region(plane)
    if region is None:
        return plane[None].to(score.device)
    depth = _signed_distance(region) + 1e-3 * plane.numpy()
    depth = (depth - depth.min()) / max(float(np.ptp(depth)), 1e-12)
    return torch.from_numpy(depth.astype(np.float32))[None].to(score.device)


def threshold_hints(score: Tensor, names: Sequence[str]) -> dict[str, Tensor]:
    """Hints from fixed thresholds on the histogram-equalised score (Double-DIP).

    With ``e = equalize(score)`` and the first name the highest score:

    - two names: ``fg = e > 239.5``, ``bg = e ≤ 15.5`` (about 1/16 of the image each);
    - three names: ``fg`` and ``bg`` as above and ``mg = 15.5 < e ≤ 80``. The reference code's
      middle-ground hint is ``e ≤ 80``, which contains the whole background hint and so marks
      the same pixels as both layers; here it excludes it;
    - ``K > 3`` names: layer ``i`` is the band ``|e − c_i| ≤ w`` around
      ``c_i = 255 (1 − i/(K−1))``, one-sided at both ends (layer 0 is ``e ≥ c_0 − w``, layer
      ``K−1`` is ``e ≤ c_{K−1} + w``), with ``w = 16``, narrowed to just under half the spacing
      of the centres when ``K > 8`` so that neighbouring bands never overlap.

    The hints are disjoint.

    Args:
        score: Score map in [0, 1], e.g. a saliency map or the gray image.
        names: Hint names, most to least salient (see :func:`hint_names`).

    Returns:
        name → float mask in {0, 1}, in the order of ``names``.

    Shape:
        - score: ``(1, H, W)`` or ``(H, W)``
        - each hint: ``(1, H, W)``
    """
    names = checked_hint_names(names)
    count = len(names)
    eq = equalize(score)
    if count == 2:
        masks = [eq > _FG_ABOVE, eq <= _BG_AT_MOST]
    elif count == 3:
        masks = [eq > _FG_ABOVE, (eq > _BG_AT_MOST) & (eq <= _MG_AT_MOST), eq <= _BG_AT_MOST]
    else:
        spacing = 255.0 / (count - 1)
        # Strictly below half the spacing: bands of neighbouring centres cannot share a level.
        width = min(_BAND, 0.5 * spacing - 1e-3)
        masks = []
        for i in range(count):
            centre = 255.0 * (1 - i / (count - 1))
            if i == 0:
                masks.append(eq >= centre - width)
            elif i == count - 1:
                masks.append(eq <= centre + width)
            else:
                masks.append((eq - centre).abs() <= width)
    return {name: mask.float() for name, mask in zip(names, masks, strict=True)}
