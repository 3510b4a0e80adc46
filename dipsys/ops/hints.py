"""Segmentation hints: binary masks of pixels known to belong to one layer.

A K-layer segmentation is steered by one hint per layer (``fg``/``bg``, ``fg``/``mg``/``bg`` or
``layer<i>``, see :func:`hint_names`). This module builds them from a score map (the Double-DIP
papers' histogram-equalisation thresholds), from colour clusters, or from user boxes and
scribbles, and makes a set of hints mutually exclusive. Everything works on single images:
images are ``(3, H, W)`` in [0, 1], hints ``(1, H, W)`` float masks in {0, 1}.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import cv2
import numpy as np
import torch
from torch import Tensor

from dipsys.errors import InputError
from dipsys.ops.labels import single_plane
from dipsys.ops.resize import resize
from dipsys.ops.saliency import saliency_map

__all__ = [
    "box_mask",
    "cluster_hints",
    "equalize",
    "exclusive",
    "hint_names",
    "region_depth",
    "scribble_mask",
    "threshold_hints",
]

# Histogram-equalisation thresholds of the Double-DIP reference code (8-bit levels).
_FG_ABOVE = 239.5
_BG_AT_MOST = 15.5
_MG_AT_MOST = 80.0
# Half-width (8-bit levels) of the band around each level centre for K > 3 layers.
_BAND = 16.0

# cluster_hints works at this longest side: clusters are coarse, and k-means cost is linear in
# the pixel count.
_CLUSTER_MAX_SIDE = 128
# Weight of the (x, y) position, in Lab units per image side: small enough that colour decides
# (a larger weight makes the cores central blobs and leaves region ends unhinted),
# large enough that equal colours far apart split and that a flat image still gives K clusters.
_POSITION_WEIGHT = 4.0


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


def _check_names(names: Sequence[str]) -> list[str]:
    """The names as a list: at least two (as :func:`hint_names` requires), all different."""
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
    names = _check_names(names)
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


def _distances(features: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Euclidean distance of every feature row to every centre, ``(N, K)``."""
    squared = ((features[:, None, :] - centres[None, :, :]) ** 2).sum(axis=-1)
    return np.sqrt(np.maximum(squared, 0.0))


def _cluster_core(member: np.ndarray, margin: np.ndarray, core: float, erosion: int) -> np.ndarray:
    """Confident, eroded core of one cluster; never empty while the cluster is not.

    ``member`` is the cluster's ``(h, w)`` mask, ``margin`` the per-pixel distance gap between
    the second-nearest and the own centre.
    """
    if not member.any():
        return member
    cut = np.quantile(margin[member], 1.0 - core) if core < 1 else -np.inf
    confident = member & (margin >= cut)
    # Shrink the erosion until something is left: a small or thin cluster still gets a hint.
    # ``confident`` itself is never empty (it holds at least the cluster's largest margin).
    for radius in range(erosion, 0, -1):
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2)
        inner = cv2.erode(member.astype(np.uint8), kernel, borderType=cv2.BORDER_REPLICATE)
        kept = confident & inner.astype(bool)
        if kept.any():
            return kept
    return confident


def cluster_hints(
    image: Tensor,
    names: Sequence[str],
    score: Tensor | None = None,
    core: float = 0.7,
    seed: int = 0,
) -> dict[str, Tensor]:
    """Automatic hints for ``K = len(names)`` regions from colour clusters.

    .. math:: f(x) = \\big(G_\\sigma * \\operatorname{Lab}(I)(x),\\ \\lambda \\cdot x/S\\big),
        \\quad \\ell(x) = \\arg\\min_k \\lVert f(x) - \\mu_k \\rVert

    k-means with K clusters (``cv2.kmeans``, k-means++ seeded by ``seed``, so reproducible) on
    the smoothed Lab colour plus the position scaled by ``λ = 4`` Lab units per image side
    ``S``, computed with the longest side shrunk to at most 128 px. Only each cluster's
    confident core becomes a hint: pixels whose margin ``d_2 − d_1`` (distance to the
    second-nearest centre minus to their own) is in the top ``core`` fraction of their cluster
    and that survive an erosion of the cluster (radius ~3% of the side), so hints keep off
    region borders. The erosion shrinks for small clusters, so every name gets a non-empty hint.
    Clusters are ordered by decreasing mean ``score``: ``names[0]`` gets the most salient,
    ``names[-1]`` the least. The hints are disjoint and resized back with nearest neighbours.

    Args:
        image: RGB image in [0, 1].
        names: Hint names, most to least salient (see :func:`hint_names`).
        score: Score map in [0, 1] ordering the clusters; ``None`` → :func:`saliency_map`.
        core: Fraction in (0, 1] of each cluster kept before the erosion.
        seed: Seed of the k-means initialisation.

    Returns:
        name → float mask in {0, 1}, in the order of ``names``.

    Shape:
        - image: ``(3, H, W)``
        - score: ``(1, H, W)`` or ``(H, W)``
        - each hint: ``(1, H, W)``
    """
    if image.ndim != 3 or image.shape[0] != 3:
        raise ValueError(f"expected an RGB image (3, H, W), got shape {tuple(image.shape)}")
    names = _check_names(names)
    count = len(names)
    if not 0.0 < core <= 1.0:
        raise InputError(f"the cluster hint core fraction must lie in (0, 1], got {core}")
    height, width = image.shape[-2:]
    scale = min(1.0, _CLUSTER_MAX_SIDE / max(height, width))
    h, w = max(1, round(height * scale)), max(1, round(width * scale))
    if h * w < count:
        raise InputError(f"an image of {width}×{height} pixels is too small for {count} hints")
    small = resize(image[None].detach().to("cpu", torch.float32), (h, w))[0]

    rgb = np.ascontiguousarray(small.clamp(0, 1).permute(1, 2, 0).numpy())
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
    # Smoothing averages texture into its region's colour, so clusters follow regions, not grain.
    lab = cv2.GaussianBlur(lab, (0, 0), max(1.0, 0.02 * max(h, w)), borderType=cv2.BORDER_REFLECT)
    side = float(max(h, w))
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    position = np.stack([xs, ys], axis=-1) * (_POSITION_WEIGHT / side)
    features = np.ascontiguousarray(
        np.concatenate([lab, position], axis=-1).reshape(-1, 5), dtype=np.float32
    )

    cv2.setRNGSeed(seed)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 1e-3)
    _, _, centres = cv2.kmeans(features, count, None, criteria, 5, cv2.KMEANS_PP_CENTERS)
    distance = _distances(features.astype(np.float64), centres.astype(np.float64))
    order = np.argsort(distance, axis=1)
    labels = np.ascontiguousarray(order[:, 0])
    rows = np.arange(len(labels))
    margin = distance[rows, order[:, 1]] - distance[rows, labels]
    # k-means++ starts every cluster on a distinct pixel, but a centre can still end up owning
    # no pixel; hand it its nearest pixel that another cluster can spare, so every name gets one.
    for k in range(count):
        if not (labels == k).any():
            sizes = np.bincount(labels, minlength=count)
            spare = np.where(sizes[labels] > 1, distance[:, k], np.inf)
            nearest = int(np.argmin(spare))
            labels[nearest], margin[nearest] = k, 0.0
    labels, margin = labels.reshape(h, w), margin.reshape(h, w)

    if score is None:
        score_small = saliency_map(small)[0].numpy()
    else:
        plane = single_plane(score, "a score map").detach().to("cpu", torch.float32)
        score_small = resize(plane[None, None], (h, w), mode="bilinear")[0, 0].numpy()
    means = np.array([score_small[labels == k].mean() for k in range(count)])
    # Stable sort on the negated means: ties keep the k-means order, so results stay reproducible.
    ranked = np.argsort(-means, kind="stable")

    erosion = max(1, round(0.03 * side))
    hints = {}
    for name, k in zip(names, ranked, strict=True):
        kept = _cluster_core(labels == k, margin, core, erosion)
        mask = torch.from_numpy(kept.astype(np.float32))[None, None]
        hints[name] = resize(mask, (height, width), mode="nearest")[0].to(image.device)
    return hints


def _real(value: Any) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _as_list(value: Any) -> list | None:
    """A list of the items of a sequence-like value (list, tuple, ListConfig, array), else None."""
    if isinstance(value, str | bytes | Mapping) or _real(value):
        return None
    if isinstance(value, Tensor | np.ndarray):
        return value.tolist() if value.ndim > 0 else None
    try:
        return list(value)
    except TypeError:
        return None


def _check_size(size: Sequence[int]) -> tuple[int, int]:
    height, width = (int(v) for v in size)
    if height < 1 or width < 1:
        raise ValueError(f"image size must be positive, got {tuple(size)}")
    return height, width


def box_mask(size: Sequence[int], boxes: Sequence[Sequence[float]]) -> Tensor:
    """Union of axis-aligned boxes as a mask.

    .. math:: m(y, x) = [\\exists b: x_0 \\le x < x_1 \\wedge y_0 \\le y < y_1]

    Boxes are ``[x0, y0, x1, y1]`` in pixels with ``x1``, ``y1`` exclusive (so
    ``[0, 0, W, H]`` is the whole image); fractional corners cover every pixel they touch.

    Args:
        size: Image size ``(H, W)``.
        boxes: The boxes; an empty list gives an empty mask.

    Returns:
        The mask, float in {0, 1}.

    Raises:
        InputError: a box is not 4 numbers, is empty (``x1 ≤ x0`` or ``y1 ≤ y0``) or reaches
            outside the image.

    Shape:
        - output: ``(1, H, W)``
    """
    height, width = _check_size(size)
    items = _as_list(boxes)
    if items is None:
        raise InputError(f"boxes must be a list of [x0, y0, x1, y1] boxes, got {boxes!r}")
    mask = torch.zeros(1, height, width)
    for box in items:
        coords = _as_list(box)
        if coords is None or len(coords) != 4 or not all(_real(v) for v in coords):
            raise InputError(
                f"a box must be 4 numbers [x0, y0, x1, y1], got {box!r}"
                + (" (boxes is a list of boxes: [[x0, y0, x1, y1], ...])" if _real(box) else "")
            )
        x0, y0, x1, y1 = (float(v) for v in coords)
        shown = [v.item() if hasattr(v, "item") else v for v in coords]
        if x1 <= x0 or y1 <= y0:
            raise InputError(f"box {shown} is empty: it needs x0 < x1 and y0 < y1")
        if x0 < 0 or y0 < 0 or x1 > width or y1 > height:
            raise InputError(
                f"box {shown} lies outside the {width}×{height} image "
                f"(x in [0, {width}], y in [0, {height}])"
            )
        mask[0, math.floor(y0) : math.ceil(y1), math.floor(x0) : math.ceil(x1)] = 1.0
    return mask


def scribble_mask(
    size: Sequence[int], scribbles: Sequence[Sequence[Sequence[float]]], width: int = 5
) -> Tensor:
    """Union of polylines drawn ``width`` pixels wide.

    .. math:: m = \\bigcup_s \\operatorname{stroke}_{w}(p_{s,1} \\to p_{s,2} \\to \\dots)

    Each scribble is a list of ``[x, y]`` points in pixels (rounded to the nearest pixel); a
    single point draws a dot of diameter ``width``. Drawn with ``cv2.polylines``/``cv2.circle``.

    Args:
        size: Image size ``(H, W)``.
        scribbles: The polylines; an empty list gives an empty mask.
        width: Stroke width in pixels (>= 1).

    Returns:
        The mask, float in {0, 1}.

    Raises:
        InputError: a scribble is not a non-empty list of ``[x, y]`` points, a point lies
            outside the image, or ``width < 1``.

    Shape:
        - output: ``(1, H, W)``
    """
    height, image_width = _check_size(size)
    if isinstance(width, bool) or not _real(width) or width < 1:
        raise InputError(f"scribble width must be at least 1 pixel, got {width!r}")
    thickness = max(1, round(float(width)))
    items = _as_list(scribbles)
    if items is None:
        raise InputError(f"scribbles must be a list of polylines [[x, y], ...], got {scribbles!r}")
    canvas = np.zeros((height, image_width), dtype=np.uint8)
    for scribble in items:
        points = _as_list(scribble)
        if not points:
            raise InputError(
                f"a scribble must be a non-empty list of [x, y] points, got {scribble!r}"
            )
        pixels = []
        for point in points:
            xy = _as_list(point)
            if xy is None or len(xy) != 2 or not all(_real(v) for v in xy):
                raise InputError(
                    f"a scribble point must be 2 numbers [x, y], got {point!r} in {scribble!r}"
                )
            x, y = float(xy[0]), float(xy[1])
            if not (0 <= x < image_width and 0 <= y < height):
                raise InputError(
                    f"scribble point [{xy[0]}, {xy[1]}] lies outside the {image_width}×{height} "
                    f"image (x in [0, {image_width}), y in [0, {height}))"
                )
            # Rounding can reach the far edge (x = W − 0.2 → W); clamp it back onto the image.
            pixels.append([min(round(x), image_width - 1), min(round(y), height - 1)])
        if len(pixels) == 1:
            cv2.circle(canvas, tuple(pixels[0]), (thickness - 1) // 2, 1, thickness=-1)
        else:
            polyline = np.array(pixels, dtype=np.int32).reshape(-1, 1, 2)
            cv2.polylines(canvas, [polyline], isClosed=False, color=1, thickness=thickness)
    return torch.from_numpy(canvas.astype(np.float32))[None]


def exclusive(hints: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Drop the pixels claimed by two or more hints from all of them.

    .. math:: h'_k = h_k \\cdot \\big[\\textstyle\\sum_j h_j = 1\\big]

    A contested pixel says nothing reliable about either layer, so neither keeps it.

    Args:
        hints: name → mask (values > 0.5 count as claimed); all of one shape.

    Returns:
        name → float mask in {0, 1} (the input's dtype), in the input's order.

    Shape:
        - each hint: ``(1, H, W)`` (any shape, equal for all)
    """
    if not hints:
        return {}
    claimed = {name: mask > 0.5 for name, mask in hints.items()}
    shapes = {tuple(mask.shape) for mask in claimed.values()}
    if len(shapes) > 1:
        raise ValueError(f"hints differ in shape: {sorted(shapes)}")
    count = torch.stack([mask.to(torch.int32) for mask in claimed.values()]).sum(dim=0)
    single = count == 1
    out = {}
    for name, mask in claimed.items():
        dtype = hints[name].dtype if hints[name].is_floating_point() else torch.float32
        out[name] = (mask & single).to(dtype)
    return out
