"""Saliency from boundary connectivity over superpixels (a background prior that holds on photos).

An object rarely fills the frame's border; background regions do, and they connect to the
border along paths of similar colour. With superpixels ``p`` (SLIC on smoothed Lab), ``d_geo``
the geodesic colour distance along the superpixel graph (edge = Lab distance of neighbours,
less 3 units, floored at 0, so texture inside a region costs nothing to cross):

.. math::
    A(p) = \\sum_i e^{-d_{geo}(p, i)^2 / 2\\sigma_c^2}, \\quad
    L(p) = \\sum_{i \\in \\partial} e^{-d_{geo}(p, i)^2 / 2\\sigma_c^2}, \\quad
    w_{bg}(p) = 1 - e^{-(L(p)/\\sqrt{A(p)})^2 / 2}

``A`` is the area of ``p``'s colour-connected region, ``L`` how much of it lies on the border
(``∂``, the superpixels touching the frame); ``L/√A`` is large for background. The contrast of
``p`` against background-weighted regions nearby,

.. math:: c(p) = \\sum_i \\lVert\\mu_p - \\mu_i\\rVert \\,
    e^{-\\lVert x_p - x_i\\rVert^2 / 2\\sigma_s^2}\\, w_{bg}(i),

is the foreground cue, and the saliency ``s`` minimises
``Σ_p w_bg(p) s_p² + Σ_p c(p) (s_p − 1)² + Σ_{p∼q} w_pq (s_p − s_q)²`` with
``w_pq = e^{-‖μ_p − μ_q‖² / 2σ_c²} + μ`` over neighbouring superpixels (a small linear system).
This follows the robust background detection of Zhu, Liang, Wei & Sun (CVPR 2014).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import dijkstra
from torch import Tensor

__all__ = ["boundary_saliency"]

# Work at this longest side: superpixels are coarse, and the cost stays bounded.
_MAX_SIDE = 256
# Superpixel side as a fraction of the longest side (≈ 400 superpixels at 4:3).
_REGION_FRACTION = 1 / 22
# σ_c (Lab units) of the geodesic area / smoothness weights, σ_s (fraction of the side).
_SIGMA_COLOR = 10.0
_SIGMA_SPACE = 0.25
# The smoothness term's floor μ, so flat neighbourhoods stay linked.
_SMOOTH_FLOOR = 0.1
# Lab differences below this clip are texture within one region: free to cross on a path.
_CLIP = 3.0


def _superpixels(lab: np.ndarray) -> tuple[np.ndarray, int]:
    """SLIC labels of a Lab image and their count."""
    side = max(lab.shape[:2])
    size = max(4, round(side * _REGION_FRACTION))
    slic = cv2.ximgproc.createSuperpixelSLIC(lab, cv2.ximgproc.SLICO, size, 10.0)
    slic.iterate(10)
    slic.enforceLabelConnectivity(25)
    labels = slic.getLabels()
    # Compact the ids: enforceLabelConnectivity may leave gaps.
    _, labels = np.unique(labels, return_inverse=True)
    labels = labels.reshape(lab.shape[:2])
    return labels, int(labels.max()) + 1


def _neighbours(labels: np.ndarray) -> np.ndarray:
    """Unique pairs (i < j) of 4-adjacent superpixels, ``(E, 2)``."""
    pairs = np.concatenate(
        [
            np.stack([labels[:, :-1].ravel(), labels[:, 1:].ravel()], 1),
            np.stack([labels[:-1].ravel(), labels[1:].ravel()], 1),
        ]
    )
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    return np.unique(np.sort(pairs, axis=1), axis=0)


def _solve(w_bg: np.ndarray, w_fg: np.ndarray, edges: np.ndarray, w_edge: np.ndarray) -> np.ndarray:
    """argmin Σ w_bg s² + Σ w_fg (s − 1)² + Σ w_e (s_i − s_j)² (normal equations)."""
    n = len(w_bg)
    system = np.diag(w_bg + w_fg)
    for (i, j), weight in zip(edges, w_edge, strict=True):
        system[i, i] += weight
        system[j, j] += weight
        system[i, j] -= weight
        system[j, i] -= weight
    return np.linalg.solve(system + 1e-9 * np.eye(n), w_fg)


def boundary_saliency(image: Tensor) -> Tensor:
    """Saliency by boundary connectivity (see the module docstring).

    Args:
        image: RGB image in [0, 1].

    Returns:
        The saliency map in [0, 1] at the image's size; zeros for a flat image.

    Shape:
        - image: ``(3, H, W)``
        - output: ``(1, H, W)``
    """
    if image.ndim != 3 or image.shape[0] != 3:
        raise ValueError(f"expected an RGB image (3, H, W), got shape {tuple(image.shape)}")
    height, width = image.shape[-2:]
    rgb = image.detach().to("cpu", torch.float32).clamp(0, 1).permute(1, 2, 0).numpy()
    if float(np.ptp(rgb)) < 0.5 / 255:
        return torch.zeros(1, height, width, device=image.device)
    scale = min(1.0, _MAX_SIDE / max(height, width))
    h, w = max(8, round(height * scale)), max(8, round(width * scale))
    small = cv2.resize(np.ascontiguousarray(rgb), (w, h), interpolation=cv2.INTER_AREA)
    lab = cv2.GaussianBlur(cv2.cvtColor(small, cv2.COLOR_RGB2Lab), (0, 0), 1.0)
    labels, count = _superpixels(lab)

    flat = labels.ravel()
    sizes = np.bincount(flat, minlength=count).astype(np.float64)
    colour = (
        np.stack([np.bincount(flat, lab[..., c].ravel(), count) for c in range(3)], 1)
        / sizes[:, None]
    )
    ys, xs = np.mgrid[0:h, 0:w]
    side = float(max(h, w))
    position = np.stack(
        [np.bincount(flat, xs.ravel(), count), np.bincount(flat, ys.ravel(), count)], 1
    ) / (sizes[:, None] * side)
    border = np.zeros(count, bool)
    border[np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))] = True

    edges = _neighbours(labels)
    step = np.linalg.norm(colour[edges[:, 0]] - colour[edges[:, 1]], axis=1)
    graph = coo_matrix(
        (np.maximum(step - _CLIP, 0) + 1e-6, (edges[:, 0], edges[:, 1])), shape=(count, count)
    )
    geodesic = dijkstra(graph.tocsr(), directed=False)
    affinity = np.exp(-(geodesic**2) / (2 * _SIGMA_COLOR**2))
    area = affinity.sum(1)
    length = affinity[:, border].sum(1)
    w_bg = 1 - np.exp(-((length / np.sqrt(area)) ** 2) / 2)

    appearance = np.linalg.norm(colour[:, None] - colour[None], axis=-1)
    spatial = np.exp(-((position[:, None] - position[None]) ** 2).sum(-1) / (2 * _SIGMA_SPACE**2))
    contrast = (appearance * spatial * w_bg[None]).sum(1) / spatial.sum(1)
    contrast = contrast / max(float(contrast.max()), 1e-12)
    w_edge = np.exp(-(step**2) / (2 * _SIGMA_COLOR**2)) + _SMOOTH_FLOOR
    saliency = _solve(w_bg, contrast, edges, w_edge)

    low, high = float(saliency.min()), float(saliency.max())
    saliency = (saliency - low) / max(high - low, 1e-12)
    plane = saliency[labels].astype(np.float32)
    plane = cv2.resize(plane, (width, height), interpolation=cv2.INTER_LINEAR)
    return torch.from_numpy(np.clip(plane, 0, 1))[None].to(image.device)
