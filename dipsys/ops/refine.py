"""Full-resolution, edge-aware refinement of a coarse foreground probability.

A segmentation learned at a small working size knows *which* object but not *where its edges
are*: upsampled, its mask is a smooth blob. Here every pixel of the original image is labelled
by the exact minimum of a CRF energy (:func:`dipsys.ops.graph_cut.grid_min_cut`) with

- the coarse probability ``p`` as a prior, ``ℓ_p = logit p`` (p clipped to [0.02, 0.98]);
- a colour model: the log-likelihood ratio of each pixel's colour under Gaussian mixtures
  fitted to the current foreground and background (GrabCut's model, five full-covariance
  components each), ``ℓ_c = log p_fg(I_x) − log p_bg(I_x)``: a pixel whose colour the
  background explains better is pushed out of the foreground, and vice versa;
- contrast-sensitive edges between 4-neighbours, ``γ·exp(−β‖I_x − I_x'‖²)``, so the boundary
  runs where the image has an edge;
- hints as hard constraints: pixels a hint marks keep its label.

.. math::
    E(y) = \\sum_x -y_x \\,(w_p \\ell_p(x) + w_c \\ell_c(x))
    + \\gamma \\sum_{x \\sim x'} e^{-\\beta \\lVert I_x - I_{x'} \\rVert^2} [y_x \\ne y_{x'}]

(up to a constant). The colour model is re-fitted to the cut and the cut recomputed for a few
rounds, as GrabCut alternates. The weights were chosen on real photos with ground truth
(``scripts/evaluate_segmentation_real.py``): a large ``γ`` makes the boundary follow the
strongest image contour through the unhinted band.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from dipsys.ops.colour_mixture import gaussian_mixture, mixture_log_likelihood
from dipsys.ops.graph_cut import grid_min_cut
from dipsys.ops.resize import resize

__all__ = ["colour_log_ratio", "refine_probability"]

# Colour samples per mixture fit and the bound on the colour log-likelihood ratio, so a colour
# unseen on one side does not overrule all else.
_MAX_SAMPLES = 20000
_MAX_RATIO = 8.0
# The prior's probabilities are clipped to [f, 1 − f]: a coarse mask is never certain at a pixel.
_PRIOR_FLOOR = 0.02


def colour_log_ratio(
    rgb: np.ndarray, foreground: np.ndarray, components: int = 5, seed: int = 0
) -> np.ndarray:
    """``log p_fg(I_x) − log p_bg(I_x)`` under Gaussian mixtures fitted to each side.

    The mixtures (``components`` each, as GrabCut's) are fitted to at most 20 000 pixels
    with ``Q > ½`` (foreground) and ``Q ≤ ½`` (background), sampled on a regular stride.

    Args:
        rgb: the image, ``(H, W, 3)`` in [0, 1].
        foreground: the current labels ``Q`` in [0, 1].
        components: Gaussians per mixture.
        seed: seed of the k-means initialisation.

    Shape:
        - rgb: ``(H, W, 3)``; foreground, output: ``(H, W)``
    """
    pixels = rgb.reshape(-1, 3).astype(np.float64)
    inside = foreground.ravel() > 0.5
    ratio = np.zeros(len(pixels))
    models = []
    for side in (inside, ~inside):
        chosen = np.flatnonzero(side)
        if len(chosen) == 0:
            return ratio.reshape(foreground.shape).astype(np.float32)
        chosen = chosen[:: max(1, len(chosen) // _MAX_SAMPLES)]
        models.append(gaussian_mixture(pixels[chosen].astype(np.float32), components, seed))
    ratio = mixture_log_likelihood(pixels, models[0]) - mixture_log_likelihood(pixels, models[1])
    return np.clip(ratio, -_MAX_RATIO, _MAX_RATIO).reshape(foreground.shape).astype(np.float32)


def refine_probability(
    image: Tensor,
    probability: Tensor,
    fg_hint: Tensor | None = None,
    bg_hint: Tensor | None = None,
    prior_weight: float = 0.1,
    colour_weight: float = 1.0,
    edge_weight: float = 150.0,
    rounds: int = 3,
    max_side: int = 1024,
    colour_from_prior: bool = False,
) -> Tensor:
    """Refine a coarse foreground probability at the image's resolution (module docstring).

    Args:
        image: RGB image in [0, 1], the colour source and the edges.
        probability: the coarse foreground probability, already at the image's size.
        fg_hint, bg_hint: pixels known to be foreground / background (> 0.5), or None.
        prior_weight: ``w_p``.
        colour_weight: ``w_c``.
        edge_weight: ``γ``.
        rounds: colour-model / cut alternations.
        colour_from_prior: fit the first colour model to the prior's labels (``p > ½``);
            False fits it to the hints alone (every other pixel counts as background), when
            both hints are given.
        max_side: a larger image is refined at this longest side and the mask resized back
            (bilinear, threshold ½), bounding the cut's cost.

    Returns:
        The refined mask in {0, 1} (float).

    Shape:
        - image: ``(3, H, W)``; probability, hints: ``(1, H, W)``; output ``(1, H, W)``
    """
    if image.ndim != 3 or image.shape[0] != 3:
        raise ValueError(f"expected an RGB image (3, H, W), got shape {tuple(image.shape)}")
    height, width = image.shape[-2:]
    if tuple(probability.shape[-2:]) != (height, width):
        raise ValueError(
            f"probability is {tuple(probability.shape[-2:])} but the image is {(height, width)}"
        )
    if max(height, width) > max_side:
        scale = max_side / max(height, width)
        size = (max(2, round(height * scale)), max(2, round(width * scale)))
        small = [
            resize(x[None].float(), size, mode=mode)[0] if x is not None else None
            for x, mode in (
                (image, "area"),
                (probability, "bilinear"),
                (fg_hint, "nearest"),
                (bg_hint, "nearest"),
            )
        ]
        cut = refine_probability(
            *small, prior_weight, colour_weight, edge_weight, rounds, max_side, colour_from_prior
        )
        return (resize(cut[None], (height, width), mode="bilinear")[0] > 0.5).to(probability)
    rgb = image.detach().to("cpu", torch.float32).clamp(0, 1).permute(1, 2, 0).numpy()
    rgb = np.ascontiguousarray(rgb)
    prior = probability.detach().to("cpu", torch.float32).reshape(height, width).numpy()
    prior = np.clip(prior, _PRIOR_FLOOR, 1 - _PRIOR_FLOOR)
    logit_prior = np.log(prior / (1 - prior)).astype(np.float32)
    sure_fg = _plane(fg_hint, height, width)
    sure_bg = _plane(bg_hint, height, width) & ~sure_fg
    right, down = _edge_weights(rgb, edge_weight)

    # The hints alone can seed the colour model only when both are given.
    from_hints = not colour_from_prior and sure_fg.any() and sure_bg.any()
    start = np.full_like(prior, 0.5) if from_hints else prior
    labels = _clamp(start.astype(np.float32), sure_fg, sure_bg)
    for _ in range(max(1, rounds)):
        unary = prior_weight * logit_prior + colour_weight * colour_log_ratio(rgb, labels)
        labels = grid_min_cut(unary, right, down, sure_fg, sure_bg).astype(np.float32)
    return torch.from_numpy(labels)[None].to(probability.device)


def _edge_weights(rgb: np.ndarray, strength: float) -> tuple[np.ndarray, np.ndarray]:
    """Contrast-sensitive Potts weights ``γ·exp(−β‖I_x − I_x'‖²)`` to the right and below.

    ``β = 1 / (2·mean‖I_x − I_x'‖²)`` (GrabCut's choice), so the weights adapt to the image's
    own contrast: edges of the image are cheap to cut, flat areas expensive.
    """
    right = ((rgb[:, 1:] - rgb[:, :-1]) ** 2).sum(-1)
    down = ((rgb[1:] - rgb[:-1]) ** 2).sum(-1)
    mean = (right.sum() + down.sum()) / max(right.size + down.size, 1)
    beta = 1.0 / (2.0 * max(float(mean), 1e-8))
    return strength * np.exp(-beta * right), strength * np.exp(-beta * down)


def _plane(hint: Tensor | None, height: int, width: int) -> np.ndarray:
    if hint is None:
        return np.zeros((height, width), bool)
    return hint.detach().to("cpu").reshape(height, width).numpy() > 0.5


def _clamp(q: np.ndarray, sure_fg: np.ndarray, sure_bg: np.ndarray) -> np.ndarray:
    q = q.copy()
    q[sure_fg], q[sure_bg] = 1.0, 0.0
    return q
