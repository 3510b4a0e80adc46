"""Classical removal of a flat semi-transparent logo: an affine map per channel on its footprint.

Inside the logo's footprint ``F`` a watermarked image is

.. math:: I = (1 - a) J + a L

with the photo ``J``, one opacity ``a`` and the logo's colour ``L``. Where ``a`` and ``L`` are
constant, the photo is an affine map of the image, per channel,

.. math:: J = g I + h, \\qquad g = \\frac{1}{1 - a}, \\quad h = -\\frac{a L}{1 - a},

so removal needs three things: ``F``, ``a`` and ``L``. The photo is continuous across ``F``'s
outline, so pixels ``p`` just inside and ``q`` just outside it have the same distribution
after removal: :func:`fit_opacity` matches their spreads (``g`` shared by the channels). The
footprint is a two-label cut: a pixel takes the affine explanation when that makes the
result more continuous with its neighbours (:func:`footprint_cut`). Blind
(:func:`blind_remove`), hypotheses ``(a, L)`` — the colour voted by the box's edges at each
opacity (:func:`vote_opacity`) and a fixed palette — are ranked by the energy their cut
saves. :func:`removal_check` is a test without ground truth: the logo's outline must
fade in the result.

Everything here is NumPy on one ``(H, W, 3)`` float image in [0, 1].
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order, maximum_flow

from dipsys.ops.refine import _gaussian_mixture, _log_likelihood

__all__ = [
    "affine_remove",
    "blind_remove",
    "checked_remove",
    "fit_opacity",
    "footprint_cut",
    "null_step_opacity",
    "outline_pairs",
    "removal_check",
    "vote_opacity",
]

_DIRECTIONS = ((0, 1), (1, 0), (0, -1), (-1, 0))


def affine_remove(image: np.ndarray, weight: np.ndarray, opacity: float, colour) -> np.ndarray:
    """Invert the compositing where the logo lies.

    .. math:: J = \\frac{I - w a L}{1 - w a}

    with ``w`` the footprint's weight (1 inside, 0 outside, between on an anti-aliased rim).

    Args:
        image: the watermarked image ``I`` in [0, 1].
        weight: ``w``, the footprint (bool or [0, 1]).
        opacity: ``a`` in [0, 1).
        colour: ``L``, one RGB colour ``(3,)`` or one per pixel ``(H, W, 3)``.

    Returns:
        The photo ``J``, clipped to [0, 1].

    Shape:
        - image, output: ``(H, W, 3)``; weight: ``(H, W)``
    """
    m = np.asarray(weight, np.float64)[..., None] * float(opacity)
    result = (image - m * np.asarray(colour, np.float64)) / (1.0 - m)
    return np.clip(result, 0.0, 1.0)


def outline_pairs(footprint: np.ndarray, step: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Pixel pairs across the footprint's outline: ``p`` one pixel inside, ``q`` outside.

    ``p`` lies in ``F`` eroded by one pixel and ``q = p + k d`` (``d`` one of the four
    directions, ``k`` = ``step`` and ``step + 1``) outside ``F`` dilated by one pixel, so
    an anti-aliased rim of a pixel on either side is skipped.

    Returns:
        Flat indices of ``p`` and of ``q`` (equal length).

    Shape:
        - footprint: ``(H, W)`` bool
    """
    f = np.asarray(footprint, bool)
    inner = ndimage.binary_erosion(f, np.ones((3, 3), bool))
    outer = ~ndimage.binary_dilation(f, np.ones((3, 3), bool))
    height, width = f.shape
    index = np.arange(height * width).reshape(height, width)
    ps, qs = [], []
    for dy, dx in _DIRECTIONS:
        for k in (step, step + 1):
            sy, sx = dy * k, dx * k
            ys = slice(max(0, -sy), height - max(0, sy))
            xs = slice(max(0, -sx), width - max(0, sx))
            yq = slice(max(0, sy), height - max(0, -sy))
            xq = slice(max(0, sx), width - max(0, -sx))
            hit = inner[ys, xs] & outer[yq, xq]
            ps.append(index[ys, xs][hit])
            qs.append(index[yq, xq][hit])
    return np.concatenate(ps), np.concatenate(qs)


def fit_opacity(
    inside: np.ndarray, outside: np.ndarray, iterations: int = 8
) -> tuple[float, np.ndarray, float]:
    """Robust fit of the opacity and colour from pairs across the outline.

    The photo on the two sides of the outline is exchangeable (the logo's place does not
    depend on the photo), so ``J_p = g I_p + h`` and ``J_q = I_q`` have the same spread.
    Regressing one side on the other would be biased by the texture in the regressor;
    matching the spreads is not (a reduced-major-axis fit, with ``g`` shared by the
    channels):

    .. math:: g^2 = \\frac{\\sum_c \\operatorname{var}_w I_{q,c}}{\\sum_c \\operatorname{var}_w
        I_{p,c}}, \\qquad h_c = \\bar I_{q,c} - g \\bar I_{p,c},
        \\qquad a = 1 - \\frac1g, \\quad L = -\\frac{h}{g - 1},

    with weighted means and variances, the weights ``w`` Huber's on each pair's residual
    ``‖I_q − g I_p − h‖`` (scale: 1.5 × its median), iterated.

    Args:
        inside: ``I_p``, the pixels inside.
        outside: ``I_q``, their partners outside.

    Returns:
        ``(a, L, spread)``: the opacity, the colour (``(3,)``, not clipped) and the median
        residual norm of the pairs.

    Shape:
        - inside, outside: ``(N, 3)``
    """
    if len(inside) < 4:
        return 0.0, np.zeros(3), float("inf")
    weights = np.ones(len(inside))
    for _ in range(iterations):
        w = weights / weights.sum()
        mean_p, mean_q = w @ inside, w @ outside
        var_p = float(w @ ((inside - mean_p) ** 2).sum(axis=1))
        var_q = float(w @ ((outside - mean_q) ** 2).sum(axis=1))
        g = float(np.sqrt(var_q / max(var_p, 1e-12)))
        h = mean_q - g * mean_p
        residual = np.linalg.norm(outside - g * inside - h, axis=1)
        scale = 1.5 * max(float(np.median(residual)), 1e-4)
        weights = np.minimum(1.0, scale / np.maximum(residual, 1e-12))
    a = 1.0 - 1.0 / g
    colour = -h / (g - 1.0) if abs(g - 1.0) > 1e-6 else np.zeros(3)
    return a, colour, float(np.median(residual))


def null_step_opacity(
    image: np.ndarray,
    footprint: np.ndarray,
    colour,
    opacities: np.ndarray | None = None,
    step: int = 2,
) -> tuple[float, int]:
    """The opacity that makes the step across the footprint's outline vanish, for a colour.

    .. math:: a^* = \\arg\\min_a \\Big\\lVert \\operatorname{median}_{(p, q)}
        \\Big(\\frac{I_p - a L}{1 - a} - I_q\\Big) \\Big\\rVert_2

    over the pairs of :func:`outline_pairs` (per-channel medians; a grid of ``a``). The
    photo's texture averages out of the median step, which the logo's shift does not; the
    energy-ranked opacity of :func:`blind_remove` comes out low (under-removal) where this
    one does not.

    Returns:
        ``(a, pairs)``: the opacity (0 when there are no pairs) and the pair count.

    Shape:
        - image: ``(H, W, 3)``; footprint: ``(H, W)``
    """
    if opacities is None:
        opacities = np.arange(0.03, 0.705, 0.005)
    p, q = outline_pairs(footprint, step=step)
    if len(p) == 0:
        return 0.0, 0
    flat = image.reshape(-1, 3)
    inside, outside = flat[p], flat[q]
    colour = np.asarray(colour, np.float64)
    costs = [
        np.linalg.norm(np.median((inside - a * colour) / (1.0 - a) - outside, axis=0))
        for a in opacities
    ]
    return float(opacities[int(np.argmin(costs))]), int(len(p))


def _shifted_pairs(step: int, height: int, width: int):
    for dy, dx in ((0, 1), (1, 0), (1, 1), (1, -1)):
        sy, sx = dy * step, dx * step
        ys = slice(max(0, -sy), height - max(0, sy))
        xs = slice(max(0, -sx), width - max(0, sx))
        yq = slice(max(0, sy), height - max(0, -sy))
        xq = slice(max(0, sx), width - max(0, -sx))
        yield (ys, xs), (yq, xq)


def vote_opacity(
    image: np.ndarray,
    opacities: np.ndarray | None = None,
    tolerance: float = 0.012,
    min_step: float = 0.03,
    step: int = 3,
    return_modes: bool = False,
):
    """A blind opacity and colour from the edges of a crop.

    Every pair ``(p, q)`` ``step`` pixels apart with ``‖I_p − I_q‖₁ > min_step`` is taken both
    ways round as "``p`` under the logo, ``q`` not" and votes, for each candidate opacity
    ``a``, for the colour

    .. math:: L = \\frac{I_p - (1 - a) I_q}{a}.

    Votes outside [0, 1]³ are dropped; the rest fall in bins of width ``tolerance / a`` (a
    residual of ``tolerance`` in the image) and the ``(a, L)`` of the fullest bin wins. Scene
    edges vote for scattered colours; the logo's outline, for one.

    Args:
        image: the crop.
        opacities: candidate opacities (default 0.05–0.60 by 0.01).
        tolerance: the residual in the image that one bin spans.
        min_step: the L1 step that makes a pair an edge.
        step: the pairs' distance in pixels.
        return_modes: return every opacity's ``(a, L, share)`` instead of the best.

    Returns:
        ``(a, L, votes)``: the opacity, the bin's mean colour and the share of edge pairs that
        voted for it (or the list of them per opacity with ``return_modes``).

    Shape:
        - image: ``(H, W, 3)``
    """
    if opacities is None:
        opacities = np.round(np.arange(0.05, 0.61, 0.01), 2)
    height, width = image.shape[:2]
    ins, outs = [], []
    for ps, pq in _shifted_pairs(step, height, width):
        a_, b_ = image[ps].reshape(-1, 3), image[pq].reshape(-1, 3)
        edge = np.abs(a_ - b_).sum(axis=1) > min_step
        ins += [a_[edge], b_[edge]]
        outs += [b_[edge], a_[edge]]
    inside, outside = np.concatenate(ins), np.concatenate(outs)
    total = max(1, len(inside) // 2)
    best = (0, 0.0, np.ones(3))
    modes = []
    for a in opacities:
        votes = (inside - (1.0 - a) * outside) / a
        keep = np.all((votes > -0.02) & (votes < 1.02), axis=1)
        votes = votes[keep]
        if len(votes) == 0:
            continue
        width_l = tolerance / a
        bins = np.floor((votes + 0.02) / width_l).astype(np.int64)
        side = int(np.ceil(1.04 / width_l)) + 1
        key = (bins[:, 0] * side + bins[:, 1]) * side + bins[:, 2]
        keys, counts = np.unique(key, return_counts=True)
        top = int(np.argmax(counts))
        modes.append((float(a), votes[key == keys[top]].mean(axis=0), int(counts[top]) / total))
        if counts[top] > best[0]:
            best = (int(counts[top]), float(a), votes[key == keys[top]].mean(axis=0))
    if return_modes:
        return modes
    return best[1], best[2], best[0] / total


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
    flow = maximum_flow(graph, source, sink, method="dinic").flow
    residual = (graph - flow).tocsr()
    residual.data = (residual.data > 0).astype(np.int8)
    residual.eliminate_zeros()
    reached = breadth_first_order(residual, source, directed=True, return_predecessors=False)
    labels = np.zeros(count + 2, bool)
    labels[reached] = True
    return labels[:count].reshape(height, width)


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

    Shape:
        - image: ``(H, W, 3)``; sure_outside, output: ``(H, W)``
    """
    height, width = image.shape[:2]
    g = 1.0 / (1.0 - opacity)
    mapped = g * image - g * opacity * np.asarray(colour, np.float64)
    unary = np.full(height * width, -float(area_cost))
    index = np.arange(height * width).reshape(height, width)
    firsts, seconds, weights = [], [], []
    flat_i, flat_j = image.reshape(-1, 3), mapped.reshape(-1, 3)
    for k in steps:
        for p, q in ((index[:, :-k], index[:, k:]), (index[:-k], index[k:])):
            p, q = p.ravel(), q.ravel()
            e00 = _robust(flat_i[p] - flat_i[q], cap)
            e11 = e00
            e10 = _robust(flat_j[p] - flat_i[q], cap) / np.sqrt(g)
            e01 = _robust(flat_i[p] - flat_j[q], cap) / np.sqrt(g)
            w = e01 + e10 - e00 - e11
            excess = np.minimum(w, 0.0) / 2.0
            e00, e11 = e00 + excess, e11 + excess
            w = np.maximum(w, 0.0)
            # E = e00 + (e10 − e00) y_p + (e11 − e10) y_q + w (1 − y_p) y_q, and
            # (1 − y_p) y_q = ½ [y_p ≠ y_q] + ½ (y_q − y_p); unary holds cost(0) − cost(1)
            np.subtract.at(unary, p, (e10 - e00) - w / 2.0)
            np.subtract.at(unary, q, (e11 - e10) + w / 2.0)
            firsts.append(p)
            seconds.append(q)
            weights.append(w / 2.0)
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
        estimate = np.where(labels[..., None], mapped, image).reshape(-1, 3)
        model = _gaussian_mixture(
            estimate[:: max(1, len(estimate) // 20000)].astype(np.float32), 5, 0
        )
        ratio = (
            _log_likelihood(np.clip(mapped, 0, 1).reshape(-1, 3), model)
            + 3.0 * np.log(g)
            - _log_likelihood(image.reshape(-1, 3), model)
        )
        colour_term = colour_weight * np.clip(ratio, -8.0, 8.0).reshape(height, width)
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


def removal_check(
    image: np.ndarray,
    result: np.ndarray,
    footprint: np.ndarray,
    opacity: float,
    max_ratio: float = 0.5,
    opacity_range: tuple[float, float] = (0.05, 0.7),
    min_pairs: int = 50,
) -> tuple[bool, dict]:
    """A check without ground truth: does the removal make the logo's outline vanish?

    Over the pairs across the footprint's outline (:func:`outline_pairs`), the mean step
    ``‖R_p − R_q‖₁`` of the result against the input's must fall to ``max_ratio`` or less;
    the opacity must lie in ``opacity_range`` and the outline must have ``min_pairs`` pairs.

    Returns:
        ``(passed, figures)`` with the ratio, the opacity and the pair count.

    Shape:
        - image, result: ``(H, W, 3)``; footprint: ``(H, W)``
    """
    p, q = outline_pairs(footprint)
    flat_i, flat_r = image.reshape(-1, 3), result.reshape(-1, 3)
    before = float(np.abs(flat_i[p] - flat_i[q]).sum(axis=1).mean()) if len(p) else 0.0
    after = float(np.abs(flat_r[p] - flat_r[q]).sum(axis=1).mean()) if len(p) else 0.0
    ratio = after / before if before > 0 else float("inf")
    passed = (
        len(p) >= min_pairs
        and ratio <= max_ratio
        and opacity_range[0] <= opacity <= opacity_range[1]
    )
    return passed, {"edge_ratio": ratio, "opacity": opacity, "pairs": int(len(p))}


#: colours tried besides the voted one: the RGB cube's corners and mid grey
PALETTE = tuple(np.array(c, np.float64) for c in np.ndindex(2, 2, 2)) + (np.full(3, 0.5),)


def blind_remove(
    image: np.ndarray,
    rounds: int = 2,
    opacities: np.ndarray | None = None,
    palette: tuple = PALETTE,
    colour_rounds: int = 2,
    colour_weight: float = 0.2,
    opening: bool = True,
    null_step: bool = True,
    rival: bool = False,
    ring: int = 3,
    area_cost: float = 0.05,
    **cut,
) -> dict:
    """Blind removal in a crop: opacity and colour hypotheses, footprint cut, refit.

    Each candidate opacity's most-voted colour (:func:`vote_opacity`) and each colour of
    ``palette`` is cut (:func:`footprint_cut`); the hypothesis whose cut lowers the energy
    most wins, its opacity is searched ±0.02 around, then
    ``(a, L)`` is refitted on its footprint's outline (:func:`fit_opacity`) and cut again,
    ``rounds`` times (a refit is kept only when its cut lowers the energy more). The last cut
    adds the photo-colour term (``colour_rounds``, ``colour_weight``) and an opening with a
    cross removes strips one pixel wide. With ``null_step`` the opacity is then re-estimated
    on the final footprint by :func:`null_step_opacity` (20 pairs or more).

    Args:
        image: the crop of the user's box.
        rounds: refits of ``(a, L)``.
        opacities: candidate opacities (default 0.06–0.39 by 0.03).
        palette: colours tried at every opacity besides the voted one.
        colour_rounds, colour_weight: the photo-colour term of the last cut.
        opening: remove one-pixel strips from the footprint.
        null_step: re-estimate the opacity from the outline's median step.
        rival: also finish the best hypothesis of the other sense (``out["rival"]``).
        ring: border pixels of the crop fixed outside the logo (the box's margin).
        area_cost: ``λ`` of :func:`footprint_cut`.
        **cut: further options of :func:`footprint_cut` (``steps``, ``cap``).

    Returns:
        ``result`` (the photo estimate, ``(H, W, 3)``), ``footprint``, ``opacity``,
        ``colour``, ``gain`` (the winning hypothesis's energy drop per crop pixel) and
        ``tried`` (``(gain per pixel, a, L)`` of every hypothesis).

    Shape:
        - image: ``(H, W, 3)``
    """
    if opacities is None:
        opacities = np.round(np.arange(0.06, 0.42, 0.03), 2)
    cut = {"ring": ring, "area_cost": area_cost, **cut}
    best = (-np.inf, 0.0, np.ones(3), np.zeros(image.shape[:2], bool))
    tried = []
    for a, voted, _ in vote_opacity(image, opacities, return_modes=True):
        for colour in (np.clip(voted, 0, 1), *palette):
            labels, gain = footprint_cut(image, a, colour, return_gain=True, **cut)
            tried.append((gain / labels.size, float(a), colour))
            if gain > best[0]:
                best = (gain, a, colour, labels)
    gain, a, colour, footprint = best
    for fine in a + np.array([-0.02, -0.01, 0.01, 0.02]):
        if fine > 0.0:
            labels, fine_gain = footprint_cut(image, fine, colour, return_gain=True, **cut)
            if fine_gain > gain:
                gain, a, footprint = fine_gain, float(fine), labels
    flat = image.reshape(-1, 3)
    for _ in range(rounds):
        p, q = outline_pairs(footprint)
        if len(p) < 4:
            break
        a_new, colour_new, _ = fit_opacity(flat[p], flat[q])
        if not 0.0 < a_new < 0.9:
            break
        colour_new = np.clip(colour_new, 0, 1)
        labels, gain_new = footprint_cut(image, a_new, colour_new, return_gain=True, **cut)
        if gain_new <= gain:  # a refit that explains less is not taken
            break
        gain, a, colour, footprint = gain_new, a_new, colour_new, labels
    finish = {
        "colour_rounds": colour_rounds,
        "colour_weight": colour_weight,
        "opening": opening,
        "null_step": null_step,
        **cut,
    }
    out = _finish(image, a, colour, footprint, **finish)
    out.update(gain=gain / footprint.size, tried=tried)
    if rival:
        # the best hypothesis of another sense (a channel of L differs by more than ½): a
        # bright logo over F and a dark one over the rest of the box explain the same outline
        others = [t for t in tried if np.abs(t[2] - colour).max() > 0.5]
        if others:
            _, a_r, colour_r = max(others, key=lambda t: t[0])
            out["rival"] = _finish(image, a_r, colour_r, None, **finish)
    return out


def _finish(
    image, a, colour, footprint, colour_rounds, colour_weight, opening, null_step, **cut
) -> dict:
    """The last cut (with the photo-colour term), the opening, the null-step opacity."""
    if colour_rounds or footprint is None:
        footprint = footprint_cut(
            image, a, colour, colour_rounds=colour_rounds, colour_weight=colour_weight, **cut
        )
    if opening:
        # strips one pixel wide along the photo's own edges are not a logo's strokes
        footprint = ndimage.binary_opening(footprint)
    if null_step:
        a_step, pairs = null_step_opacity(image, footprint, colour)
        if pairs >= 20:
            a = a_step
    result = affine_remove(image, footprint, a, colour)
    return {"result": result, "footprint": footprint, "opacity": float(a), "colour": colour}


def checked_remove(image: np.ndarray, max_ratio: float = 0.5, **blind) -> dict:
    """Blind removal kept only where :func:`removal_check` passes; else the input.

    The winning hypothesis of :func:`blind_remove` and its rival of the other sense are both
    checked; of those that pass, the one whose outline fades most (lowest edge ratio) is
    taken.

    Returns:
        ``result`` (the input when nothing passes), ``kept_input``, ``check`` (the figures of
        the chosen candidate, or of the winner when none passed), ``candidate``
        (``"winner"``, ``"rival"`` or ``None``) and ``blind`` (the :func:`blind_remove` output).

    Shape:
        - image: ``(H, W, 3)``
    """
    out = blind_remove(image, rival=True, **blind)
    candidates = [("winner", out)] + ([("rival", out["rival"])] if "rival" in out else [])
    checked = []
    for name, c in candidates:
        passed, figures = removal_check(
            image, c["result"], c["footprint"], c["opacity"], max_ratio=max_ratio
        )
        checked.append((passed, figures["edge_ratio"], name, c, figures))
    passing = [c for c in checked if c[0]]
    if not passing:
        return {
            "result": image,
            "kept_input": True,
            "check": checked[0][4],
            "candidate": None,
            "blind": out,
        }
    _, _, name, chosen, figures = min(passing, key=lambda c: c[1])
    return {
        "result": chosen["result"],
        "kept_input": False,
        "check": figures,
        "candidate": name,
        "blind": out,
    }
