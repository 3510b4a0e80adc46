"""Automatic segmentation hints from colour clusters (k-means on Lab colour and position).

Images are ``(3, H, W)`` in [0, 1], hints ``(1, H, W)`` float masks in {0, 1}; the hint names
come from :func:`dipsys.ops.hints.hint_names`.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import torch
from torch import Tensor

from dipsys.errors import InputError
from dipsys.ops.hints import checked_hint_names
from dipsys.ops.labels import single_plane
from dipsys.ops.resize import resize
from dipsys.ops.saliency import saliency_map

__all__ = ["cluster_hints"]

# cluster_hints works at this longest side: clusters are coarse, and k-means cost is linear in
# the pixel count.
_CLUSTER_MAX_SIDE = 128
# Weight of the (x, y) position, in Lab units per image side: small enough that colour decides
# (a larger weight makes the cores central blobs and leaves region ends unhinted),
# large enough that equal colours far apart split and that a flat image still gives K clusters.
_POSITION_WEIGHT = 4.0


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
    names = checked_hint_names(names)
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
