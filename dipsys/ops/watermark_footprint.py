"""The footprint of a flat semi-transparent logo: a two-label cut (see :mod:`.watermark_affine`).

A pixel takes the affine explanation ``J = g I + h`` when that makes the result more continuous
with its neighbours than the image itself is; the labels are a minimum cut.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix

from dipsys.ops.colour_mixture import gaussian_mixture, mixture_log_likelihood
from dipsys.ops.graph_cut import source_side

__all__ = ["footprint_cut"]


def _robust(x: np.ndarray, cap: float) -> np.ndarray:
    """Per-pair cost of a colour difference: its L1 norm, capped."""
    return np.minimum(np.abs(x).sum(axis=-1), cap)


def _min_cut(
    unary: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    weight: np.ndarray,
    sure_zero: np.ndarray,
) -> np.ndarray:
    """Exact minimiser of ``Σ_p U_p [y_p = 0]⁺ … + Σ_e w_e [y_i ≠ y_j]`` on any pair list.

    ``unary`` is cost(0) − cost(1) per pixel, as in :func:`dipsys.ops.graph_cut.grid_min_cut`;
    ``first``/``second`` index the pairs, ``weight`` (≥ 0) their disagreement costs.

    Shape:
        - unary, sure_zero, output: ``(H, W)``; first, second, weight: ``(E,)``
    """
    height, width = unary.shape
    count = height * width
    source, sink = count, count + 1
    cost = unary.ravel().astype(np.float64).copy()
    cost[sure_zero.ravel()] = -(np.abs(cost).max(initial=0) + weight.sum() + 1.0)
    pixels = np.arange(count)
    pos, neg = cost > 0, cost < 0
    rows = np.concatenate([np.full(pos.sum(), source), pixels[neg], first, second])
    cols = np.concatenate([pixels[pos], np.full(neg.sum(), sink), second, first])
    caps = np.concatenate([cost[pos], -cost[neg], weight, weight])
    scale = 2.0**30 / max(float(caps.sum()), 1e-9)
    capacity = np.round(caps * min(scale, 4096.0)).astype(np.int64)
    keep = capacity > 0
    graph = csr_matrix(
        (capacity[keep].astype(np.int32), (rows[keep], cols[keep])), shape=(count + 2, count + 2)
    )
    return source_side(graph, source, sink)[:count].reshape(height, width)


def footprint_cut(
    image: np.ndarray,
    opacity: float,
    colour,
    area_cost: float = 0.0,
    sure_outside: np.ndarray | None = None,
    steps: tuple[int, ...] = (1, 2, 3),
    cap: float = 0.6,
    ring: int = 1,
    colour_rounds: int = 0,
    colour_weight: float = 0.2,
    return_gain: bool = False,
):
    """The pixels that the affine explanation makes more continuous with their neighbours.

    With ``R(y)`` the image where ``y = 0`` and ``J = gI + h`` where ``y = 1``, the labels
    minimise, over pixel pairs ``k ∈ steps`` apart along the rows and the columns,

    .. math:: E(y) = \\sum_{p \\sim q} \\frac{\\rho(R_p - R_q)}{g^{(y_p + y_q)/2}}
        + \\lambda \\sum_p y_p

    (``ρ`` the L1 norm capped at ``cap``). A pair with both ends under the logo costs what it
    did in the input (``ρ(g ΔI)/g = ρ(ΔI)``: the logo scales the photo's texture by
    ``1 − a``, and removing it must not be charged for restoring it), so only the outline
    decides. Each pair's table is made submodular by lowering its two equal-label costs to the
    mixed ones' sum where they exceed it, then cut exactly.

    With ``colour_rounds`` > 0 the cut is repeated with a photo-colour term: a Gaussian
    mixture (5 components) is fitted to the current estimate ``R(y)`` over the crop, and
    labelling a pixel 1 gains ``colour_weight · (log p(gI + h) + 3 log g − log p(I))``
    (clipped to ±8 nats; ``g³`` is the map's Jacobian) — a logo moves colours away from the
    photo's own.

    Args:
        image: the crop ``I``.
        opacity, colour: ``a`` and ``L``.
        area_cost: ``λ``, a cost per pixel under the logo.
        sure_outside: pixels fixed outside the logo (default: the crop's outer ``ring``
            pixels — a user's box leaves a margin around the logo).
        ring: width of that default ring.
        steps: pair distances in pixels.
        cap: the cap of ``ρ``.
        colour_rounds, colour_weight: rounds and weight of the photo-colour term.
        return_gain: also return ``E(0) − E(y)``, the energy the footprint saves.

    Returns:
        The footprint (bool), and the gain when ``return_gain``.

    A stack of images under the same logo at the same place shares one footprint: each
    pair's costs (and the colour term) are averaged over the images, so the logo's outline,
    which every image shows, adds up while each photo's own edges do not.

    Shape:
        - image: ``(H, W, 3)`` or ``(N, H, W, 3)``; sure_outside, output: ``(H, W)``
    """
    stack = image.reshape(-1, *image.shape[-3:])
    count = len(stack)
    height, width = stack.shape[1:3]
    g = 1.0 / (1.0 - opacity)
    mapped = g * stack - g * opacity * np.asarray(colour, np.float64)
    unary = np.full(height * width, -float(area_cost))
    index = np.arange(height * width).reshape(height, width)
    firsts, seconds, weights = [], [], []
    flat_i, flat_j = stack.reshape(count, -1, 3), mapped.reshape(count, -1, 3)
    for k in steps:
        for p, q in ((index[:, :-k], index[:, k:]), (index[:-k], index[k:])):
            p, q = p.ravel(), q.ravel()
            e00 = _robust(flat_i[:, p] - flat_i[:, q], cap)
            e11 = e00
            e10 = _robust(flat_j[:, p] - flat_i[:, q], cap) / np.sqrt(g)
            e01 = _robust(flat_i[:, p] - flat_j[:, q], cap) / np.sqrt(g)
            w = e01 + e10 - e00 - e11
            excess = np.minimum(w, 0.0) / 2.0
            e00, e11 = e00 + excess, e11 + excess
            w = np.maximum(w, 0.0)
            # E = e00 + (e10 − e00) y_p + (e11 − e10) y_q + w (1 − y_p) y_q, and
            # (1 − y_p) y_q = ½ [y_p ≠ y_q] + ½ (y_q − y_p); unary holds cost(0) − cost(1);
            # a stack's images share the labels, so their tables are averaged
            np.subtract.at(unary, p, ((e10 - e00) - w / 2.0).mean(axis=0))
            np.subtract.at(unary, q, ((e11 - e10) + w / 2.0).mean(axis=0))
            firsts.append(p)
            seconds.append(q)
            weights.append(w.mean(axis=0) / 2.0)
    if sure_outside is None:
        sure_outside = np.zeros((height, width), bool)
        sure_outside[:ring], sure_outside[height - ring :] = True, True
        sure_outside[:, :ring], sure_outside[:, width - ring :] = True, True
    firsts, seconds, weights = map(np.concatenate, (firsts, seconds, weights))
    unary = unary.reshape(height, width)
    labels = _min_cut(unary, firsts, seconds, weights, sure_outside)
    for _ in range(colour_rounds):
        # the photo's colours: a mixture fitted to the current estimate over the crop; a pixel
        # takes the explanation under which its photo colour is likelier (with the map's
        # Jacobian g³)
        estimate = np.where(labels[..., None], mapped, stack).reshape(-1, 3)
        model = gaussian_mixture(
            estimate[:: max(1, len(estimate) // 20000)].astype(np.float32), 5, 0
        )
        ratio = (
            mixture_log_likelihood(np.clip(mapped, 0, 1).reshape(-1, 3), model)
            + 3.0 * np.log(g)
            - mixture_log_likelihood(stack.reshape(-1, 3), model)
        )
        ratio = np.clip(ratio, -8.0, 8.0).reshape(count, height, width).mean(axis=0)
        colour_term = colour_weight * ratio
        labels = _min_cut(unary + colour_term, firsts, seconds, weights, sure_outside)
        unary_used = unary + colour_term
    if colour_rounds == 0:
        unary_used = unary
    if not return_gain:
        return labels
    # E(0) − E(labels): the unary and pair terms are exact after the submodular lowering,
    # up to the constant Σ e00, which cancels
    y = labels.ravel()
    gain = float(unary_used.ravel()[y].sum()) - float((weights * (y[firsts] != y[seconds])).sum())
    return labels, gain
