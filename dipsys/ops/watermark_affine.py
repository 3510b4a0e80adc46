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
result more continuous with its neighbours (:mod:`dipsys.ops.watermark_footprint`). Blind
removal (:mod:`dipsys.ops.watermark_blind`) ranks hypotheses ``(a, L)`` — the colour voted
by the box's edges at each opacity (:func:`vote_opacity`) and a fixed palette — by the
energy their cut saves, and checks without ground truth that the logo's outline fades in
the result.

Everything here is NumPy on float images in [0, 1]: one ``(H, W, 3)`` image, or a stack
``(N, H, W, 3)`` of photos under the same logo at the same place (one footprint, opacity and
colour; the photos differ), whose evidence is pooled.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = [
    "affine_remove",
    "edge_ratio",
    "fit_opacity",
    "null_step_opacity",
    "outline_pairs",
    "pair_pixels",
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
        - image, output: ``(H, W, 3)`` or ``(N, H, W, 3)``; weight: ``(H, W)``
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
        ``(a, pairs)``: the opacity (0 when there are no pairs) and the pair count (per image:
        a stack's images share the pairs).

    Shape:
        - image: ``(H, W, 3)`` or ``(N, H, W, 3)`` (pairs pooled); footprint: ``(H, W)``
    """
    if opacities is None:
        opacities = np.arange(0.03, 0.705, 0.005)
    p, q = outline_pairs(footprint, step=step)
    if len(p) == 0:
        return 0.0, 0
    inside, outside = pair_pixels(image, p, q)
    colour = np.asarray(colour, np.float64)
    costs = [
        np.linalg.norm(np.median((inside - a * colour) / (1.0 - a) - outside, axis=0))
        for a in opacities
    ]
    return float(opacities[int(np.argmin(costs))]), int(len(p))


def pair_pixels(image: np.ndarray, p: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The colours at flat indices ``p`` and ``q``, pooled over a stack of images.

    Shape:
        - image: ``(H, W, 3)`` or ``(N, H, W, 3)``; p, q: ``(P,)``; outputs ``(N·P, 3)``
    """
    flat = image.reshape(-1, image.shape[-3] * image.shape[-2], 3)
    return flat[:, p].reshape(-1, 3), flat[:, q].reshape(-1, 3)


def edge_ratio(image: np.ndarray, result: np.ndarray, footprint: np.ndarray) -> tuple[float, int]:
    """The share of the step across the footprint's outline that ``result`` leaves of
    ``image``'s, and the number of pairs it is read on (per image).

    .. math:: r = \\frac{\\operatorname{mean}_{(p, q)} \\lVert R_p - R_q \\rVert_1}
        {\\operatorname{mean}_{(p, q)} \\lVert I_p - I_q \\rVert_1}

    over the pairs of :func:`outline_pairs` (infinite when the input has no step there).

    Shape:
        - image, result: ``(H, W, 3)`` or ``(N, H, W, 3)`` (pairs pooled); footprint: ``(H, W)``
    """
    p, q = outline_pairs(footprint)
    (ip, iq), (rp, rq) = pair_pixels(image, p, q), pair_pixels(result, p, q)
    before = float(np.abs(ip - iq).sum(axis=1).mean()) if len(p) else 0.0
    after = float(np.abs(rp - rq).sum(axis=1).mean()) if len(p) else 0.0
    return (after / before if before > 0 else float("inf")), int(len(p))


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
        - image: ``(H, W, 3)`` or ``(N, H, W, 3)`` (every image's pairs vote)
    """
    if opacities is None:
        opacities = np.round(np.arange(0.05, 0.61, 0.01), 2)
    height, width = image.shape[-3:-1]
    ins, outs = [], []
    for one in image.reshape(-1, height, width, 3):
        for ps, pq in _shifted_pairs(step, height, width):
            a_, b_ = one[ps].reshape(-1, 3), one[pq].reshape(-1, 3)
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
