"""Airlight estimation by haze-lines voting, and the registry of airlight estimators.

Haze-lines (after Berman, Treibitz & Avidan, ICCP 2017): a haze-free image holds a few hundred
distinct colours, each spread over many pixels at many distances. Under haze, ``I = t·J +
(1 − t)·A``, the pixels of one colour ``J`` lie on a line in RGB space through the airlight
``A`` (``t`` moves them along it). So the right ``A`` is the point through which many lines of
colours pass. In each 2-D projection of RGB space (RG, GB, RB) every candidate ``A`` on a grid
collects the weight of the colour clusters that lie on a line through it which at least two
clusters share; the three 2-D vote maps are multiplied on the 3-D grid and the best cell wins.

The dark channel estimator (:func:`dipsys.ops.dark_channel.estimate_airlight`) picks the
brightest of the haziest pixels: it is biased towards white objects and the sky's brightest
patch, and it never goes below the image's own colours. Voting uses the geometry of the whole
colour distribution instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from dipsys.ops.airlight_bound import bounded_airlight
from dipsys.ops.airlight_region import haziest_region_airlight
from dipsys.ops.dark_channel import estimate_airlight
from dipsys.ops.resize import resize

__all__ = ["AIRLIGHT_ESTIMATORS", "airlight_estimator", "color_clusters", "haze_lines_airlight"]


def color_clusters(image: Tensor, levels: int = 16) -> tuple[Tensor, Tensor]:
    """The image's colours, quantised on a uniform ``levels³`` grid: mean colour and pixel share.

    .. math:: c_k = \\operatorname{mean}\\{I(x) : q(I(x)) = k\\}, \\quad
        w_k = |\\{x : q(I(x)) = k\\}| / (HW)

    Args:
        image: One RGB image in [0, 1].
        levels: Quantisation levels per channel.

    Returns:
        ``(colors, weights)`` of the occupied cells only.

    Shape:
        - image: ``(3, H, W)``
        - colors: ``(P, 3)``; weights: ``(P,)``
    """
    pixels = image.reshape(3, -1).T.float()  # (N, 3)
    cell = (pixels * levels).long().clamp(0, levels - 1)
    index = (cell[:, 0] * levels + cell[:, 1]) * levels + cell[:, 2]
    cells, inverse, counts = torch.unique(index, return_inverse=True, return_counts=True)
    sums = torch.zeros(cells.numel(), 3, dtype=pixels.dtype).index_add_(0, inverse, pixels)
    return sums / counts[:, None], counts.float() / pixels.shape[0]


def _vote_pair(
    points: Tensor,
    weights: Tensor,
    grid_u: Tensor,
    grid_v: Tensor,
    angles: int,
    threshold: float,
    chunk: int = 256,
) -> Tensor:
    """2-D haze-line votes for every candidate ``(a_u, a_v)`` on a grid.

    A cluster ``p`` lies on the line through candidate ``a`` at angle ``θ`` when
    ``|(a − p) × d_θ| < 2τ·(1 + ‖a − p‖/√2)`` (the tolerance grows with the distance, as the
    angle bins do) and ``a > p`` in both channels (the airlight is brighter than the colours it
    veils). A line counts when at least two clusters lie on it; the candidate's vote is
    ``Σ_p w_p (1 + 5 e^{−‖a − p‖})`` over the clusters on some counted line.

    Shape:
        - points: ``(P, 2)``; weights: ``(P,)``; grid_u: ``(U,)``; grid_v: ``(V,)``
        - output: ``(U, V)``
    """
    theta = torch.linspace(0, math.pi, angles + 1, dtype=points.dtype)[:-1]
    direction = torch.stack([torch.sin(theta), torch.cos(theta)], dim=1)  # (K, 2)
    candidates = torch.cartesian_prod(grid_u, grid_v).to(points)  # (U·V, 2)
    votes = []
    for start in range(0, candidates.shape[0], chunk):
        a = candidates[start : start + chunk]
        diff = a[:, None, :] - points[None]  # (n, P, 2)
        brighter = (diff > 0).all(dim=-1)  # (n, P)
        distance = diff.norm(dim=-1)  # (n, P)
        # signed distance of p from the line through a along d_θ: (a − p) × d_θ
        across = diff[..., :1] * direction[:, 1] - diff[..., 1:] * direction[:, 0]  # (n, P, K)
        tolerance = 2 * threshold * (1 + distance / math.sqrt(2))
        on_line = (across.abs() < tolerance[..., None]) & brighter[..., None]
        counted = on_line & (on_line.sum(dim=1, keepdim=True) >= 2)
        voting = counted.any(dim=-1).to(points.dtype)  # (n, P)
        votes.append((voting * weights * (1 + 5 * torch.exp(-distance))).sum(dim=1))
    return torch.cat(votes).view(grid_u.numel(), grid_v.numel())


def haze_lines_airlight(
    image: Tensor,
    spacing: float = 0.02,
    angles: int = 40,
    threshold: float = 0.01,
    levels: int = 16,
    max_side: int = 256,
    lowest: tuple[float, float, float] = (0.0, 0.05, 0.1),
) -> Tensor:
    """Airlight by haze-lines voting (one estimate per image of the batch).

    .. math:: \\hat A = \\arg\\max_{(a_r, a_g, a_b)}
        V_{rg}(a_r, a_g) \\, V_{gb}(a_g, a_b) \\, V_{rb}(a_r, a_b)

    with ``V`` the 2-D votes of :func:`_vote_pair`, each normalised by the largest of the three.

    Args:
        image: Hazy RGB images in [0, 1].
        spacing: Step of the candidate grid per channel.
        angles: Number of line directions in [0, π).
        threshold: Line tolerance ``τ`` (in colour units, at zero distance).
        levels: Colour quantisation levels per channel (see :func:`color_clusters`).
        max_side: The image is first shrunk to this longest side (voting needs the colour
            distribution, not the pixels).
        lowest: Lowest candidate per channel (a blue-ish haze is never darker in blue).

    Returns:
        The airlight colour per image.

    Shape:
        - image: ``(B, 3, H, W)``
        - output: ``(B, 3, 1, 1)``
    """
    h, w = image.shape[-2:]
    scale = min(1.0, max_side / max(h, w))
    small = image.float()
    if scale < 1.0:
        small = resize(small, (max(1, round(h * scale)), max(1, round(w * scale))))
    small = small.clamp(0, 1).cpu()
    grids = [torch.arange(lo, 1.0 + 1e-6, spacing) for lo in lowest]
    estimates = []
    for picture in small:
        colors, weights = color_clusters(picture, levels)
        votes = {
            (i, j): _vote_pair(colors[:, [i, j]], weights, grids[i], grids[j], angles, threshold)
            for i, j in ((0, 1), (1, 2), (0, 2))
        }
        peak = max(v.max() for v in votes.values()).clamp_min(1e-12)
        rg, gb, rb = (votes[k] / peak for k in ((0, 1), (1, 2), (0, 2)))
        joint = rg[:, :, None] * gb[None, :, :] * rb[:, None, :]  # (R, G, B)
        r, g, b = torch.unravel_index(joint.argmax(), joint.shape)
        estimates.append(torch.stack([grids[0][r], grids[1][g], grids[2][b]]))
    return torch.stack(estimates).view(-1, 3, 1, 1).to(image)


#: name → estimator ``(B, 3, H, W) → (B, 3, 1, 1)``; ``task.module.airlight_estimator`` picks one.
AIRLIGHT_ESTIMATORS: dict[str, Callable[[Tensor], Tensor]] = {
    "haze_lines": haze_lines_airlight,
    "dark_channel": estimate_airlight,
    "haziest_region": haziest_region_airlight,
    "bounded": bounded_airlight,
}


def airlight_estimator(name: str) -> Callable[[Tensor], Tensor]:
    """The estimator registered as ``name`` (see :data:`AIRLIGHT_ESTIMATORS`).

    Raises:
        ValueError: unknown name.
    """
    if name not in AIRLIGHT_ESTIMATORS:
        known = ", ".join(AIRLIGHT_ESTIMATORS)
        raise ValueError(f"unknown airlight estimator '{name}'; use one of {known}")
    return AIRLIGHT_ESTIMATORS[name]
