"""Removal of a flat semi-transparent logo from one photo's box, checked without ground truth.

One photo gives the footprint cut (:mod:`.watermark_footprint`) much less evidence than a
stack does. The cut compares pixel pairs up to ``PAIR_STEPS`` = 5 pixels apart (a stack's cut
stops at 3): on a textured photo the faint step of a logo's outline is drowned by the
texture's own steps between neighbours, and the longer pairs reach across the texture to where
the logo's lift shows. Three priors of real watermarks are added to :func:`.blind_remove`:

1. **The logo is not dark** (:func:`.not_dark`): a light logo over the footprint ``F`` and a
   dark one over the rest of the box explain the same outline; only the first is tried.
2. **The opacity and colour are re-read from the final outline** (:func:`.fit_opacity` on
   the pairs across ``F``), where the ranked hypotheses only sample a grid of ``a`` and a few
   colours (:func:`.outline_opacity`). A fitted colour beyond white is clipped and the opacity
   re-read for it from the outline's median step (:func:`.null_step_opacity`), kept where its
   removal fades the outline more than the fit's opacity does; when the fit
   fails (an opacity outside 0.05–0.7 or a dark colour), the smaller of the ranked and the
   null-step opacity is taken: removing too little leaves a fainter logo, removing too much
   darkens the photo.
3. **Never worse than the input, by a check without ground truth** (:func:`.removal_check`):
   when the removal leaves more than ``max_ratio`` of the outline's step, the input is kept.
   The same check then runs on each connected part of ``F`` alone: a part whose own outline
   does not fade (a multi-coloured logo's icon under the text's colour, a patch of the
   photo's texture) or that is too small to judge (under ``PART_PAIRS`` outline pairs) keeps
   the input there.
The cut's opening (strips one pixel wide are not strokes) also trims a logo's outline and
takes away its thin strokes, about half of the logo on the dev cases; the opening therefore
only **decides which parts of the cut are the logo's, and those parts are removed whole**
(:func:`whole_parts`), **their thin strokes and a one-pixel fringe around them at a partial
weight** (:func:`stroke_weight`): a stroke two pixels wide or a resampled logo's edge covers
its pixels only in part, and a strip of the photo's texture joined to the logo is then
darkened only a little. The opacity and colour are still read on the opened footprint,
whose outline is the surest, and the check (3.) runs on both footprints, the stricter one
holding: the whole parts' outline fades more, for a logo's parts and a strip of texture alike.
The removal is then **as strong as the check is sure of it** (:func:`removal_strength`): one
that takes away half the outline's step or more is applied in full; between that and
``max_ratio`` the opacity is scaled by ``s``, down linearly to none at the bound. Where the
outline fades only a little the footprint often holds patches of the photo (or a
multi-coloured logo's parts of another colour), and a full removal darkens them; a weaker one
keeps most of the gain where the footprint is right and little of the harm where it is not,
and meets "keep the input" at the bound without a jump:
``J = (I − s a w L)/(1 − s a w)`` in the box, at the original resolution, with ``w`` the
stroke weight of the footprint ``F``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from dipsys.ops.watermark_affine import affine_remove
from dipsys.ops.watermark_blind import blind_remove, not_dark, removal_check, remove_and_check
from dipsys.ops.watermark_outline import outline_opacity

__all__ = [
    "faded_parts",
    "remove_logo",
    "removal_of_whole_parts",
    "removal_strength",
    "stroke_weight",
    "whole_parts",
]

#: distances of the footprint cut's pixel pairs (one photo: longer than a stack's 1-3)
PAIR_STEPS = (1, 2, 3, 4, 5)
#: the fewest outline pairs a part of the footprint needs to be judged (and removed)
PART_PAIRS = 10
#: the largest share of the outline's step a removal may leave and still be applied in full
FULL_RATIO = 0.5
#: the weight of a thin stroke's pixels (the cut's, not kept by the opening)
THIN_WEIGHT = 0.5
#: the weight of the one-pixel fringe around the footprint
FRINGE_WEIGHT = 0.2


def whole_parts(opened: np.ndarray, cut: np.ndarray) -> np.ndarray:
    """The connected parts of the cut (4-neighbours) that keep pixels after the opening, whole.

    .. math:: F = \\bigcup \\{P \\in \\text{parts}(C) : P \\cap O \\neq \\emptyset\\}

    with the cut ``C`` and its opening ``O``: the opening decides which parts are a logo's
    (a strip one pixel wide along the photo's own edge has no core and stays out), not their
    shape, so a part's thin strokes and trimmed outline come back with it.

    Shape:
        - opened, cut, output: ``(H, W)`` bool

    Example:
        >>> cut = np.zeros((7, 14), bool)
        >>> cut[1:6, 1:6] = True  # a square
        >>> cut[3, 6:11] = True  # a stroke one pixel wide leaving it
        >>> cut[1:6, 12] = True  # a strip apart
        >>> opened = ndimage.binary_opening(cut)  # the square's core and the stroke's root
        >>> np.flatnonzero(opened[3]), np.flatnonzero(whole_parts(opened, cut)[3])
        (array([1, 2, 3, 4, 5, 6]), array([ 1,  2,  3,  4,  5,  6,  7,  8,  9, 10]))
    """
    labels, _ = ndimage.label(cut)
    cores = np.unique(labels[opened & cut])
    return opened | np.isin(labels, cores[cores > 0])


def removal_of_whole_parts(image: np.ndarray, found: dict, max_ratio: float) -> dict:
    """A passing removal taken over the whole parts of its cut (:func:`whole_parts`), where
    their own check passes too; nothing otherwise.

    For a stack of photos under one logo (``watermark_multi``): its cut pools the evidence of
    every photo, so a part's thin strokes are the logo's and are removed at full weight.

    Args:
        image: the crop, or a stack of crops under one logo.
        found: a :func:`.blind_remove` result (``footprint``, ``cut``, ``opacity``, ``colour``)
            whose removal passed :func:`.removal_check`.
        max_ratio: the check's bound.

    Returns:
        ``{"result", "footprint"}`` over the whole parts, or ``{}`` when their check fails.

    Shape:
        - image, result: ``(H, W, 3)`` or ``(N, H, W, 3)``; footprint: ``(H, W)``
    """
    footprint = whole_parts(found["footprint"], found["cut"])
    colour = np.asarray(found["colour"], np.float64)
    result, (passed, _) = remove_and_check(image, footprint, found["opacity"], colour, max_ratio)
    return {"result": result, "footprint": footprint} if passed else {}


def stroke_weight(
    footprint: np.ndarray, thin: float = THIN_WEIGHT, fringe: float = FRINGE_WEIGHT
) -> np.ndarray:
    """How much of each pixel the logo covers, read from the footprint's shape alone.

    .. math:: w = [F \\circ B] + t\\,[F \\setminus (F \\circ B)]
        + f\\,[(F \\oplus B) \\setminus F]

    with ``F ∘ B`` the opening by the 3×3 cross (what of ``F`` is three pixels wide or more),
    ``t`` = ``thin`` (strokes one or two pixels wide: at a logo's scale they cover a pixel in
    part) and ``f`` = ``fringe`` (the one-pixel rim outside ``F``, where a resampled logo's
    anti-aliased edge lies).

    Shape:
        - footprint: ``(H, W)`` bool; output: ``(H, W)`` float64 in [0, 1]

    Example:
        >>> footprint = np.zeros((7, 9), bool)
        >>> footprint[1:6, 1:5] = True  # a block
        >>> footprint[3, 5:8] = True  # a thin stroke
        >>> w = stroke_weight(footprint)
        >>> float(w[3, 2]), float(w[3, 6]), float(w[0, 2]), float(w[0, 8])
        (1.0, 0.5, 0.2, 0.0)
    """
    wide = ndimage.binary_opening(footprint)
    rim = ndimage.binary_dilation(footprint) & ~footprint
    return wide + thin * (footprint & ~wide) + fringe * rim


def removal_strength(edge_ratio: float, max_ratio: float, full_ratio: float = FULL_RATIO) -> float:
    """The share ``s`` of the found opacity a removal applies, from its check's edge ratio.

    .. math:: s = \\operatorname{clip}\\Big(\\frac{r_{\\max} - r}{r_{\\max} - r_{\\text{full}}},
        0, 1\\Big)

    Full strength while the removal leaves ``full_ratio`` of the outline's step or less, none
    at the check's bound ``max_ratio`` (where the input is kept), linear between. With
    ``max_ratio ≤ full_ratio`` every removal that passes the check is applied in full.

    Example:
        >>> [removal_strength(r, 0.9) for r in (0.3, 0.5, 0.7, 0.9, 1.2)]
        [1.0, 1.0, 0.5, 0.0, 0.0]
    """
    if not math.isfinite(edge_ratio):
        return 0.0
    if max_ratio <= full_ratio:
        return 1.0 if edge_ratio <= max_ratio else 0.0
    share = (max_ratio - edge_ratio) / (max_ratio - full_ratio)
    return round(float(min(1.0, max(0.0, share))), 6)


def faded_parts(
    crop: np.ndarray, result: np.ndarray, footprint: np.ndarray, opacity: float, max_ratio: float
) -> np.ndarray:
    """The connected parts of ``footprint`` (8-neighbours) whose own outline fades in ``result``
    to ``max_ratio`` of its step or less, judged on ``PART_PAIRS`` pairs or more.

    Shape:
        - crop, result: ``(H, W, 3)``; footprint, output: ``(H, W)``
    """
    labels, count = ndimage.label(footprint, structure=np.ones((3, 3)))
    kept = np.zeros_like(footprint, dtype=bool)
    for index in range(1, count + 1):
        part = labels == index
        passed, _ = removal_check(
            crop, result, part, opacity, max_ratio=max_ratio, min_pairs=PART_PAIRS
        )
        if passed:
            kept |= part
    return kept


def remove_logo(crop: np.ndarray, max_ratio: float = 0.9, full_ratio: float = FULL_RATIO) -> dict:
    """The photo under a light semi-transparent logo in ``crop``, or ``crop`` itself.

    .. math:: J = \\frac{I - s a w L}{1 - s a w}

    with the stroke weight ``w`` of the footprint ``F`` (:func:`stroke_weight`), the opacity
    ``a`` and colour ``L`` found blind (module docstring).

    Args:
        crop: the box of one photo (a few pixels of margin around the logo), in [0, 1].
        max_ratio: the largest share of the outline's step the removal may leave.
        full_ratio: the largest share it may leave and still be applied in full
            (:func:`removal_strength`).

    Returns:
        ``result`` (the input when the check fails), ``kept_input``, ``check`` (the figures of
        the stricter :func:`removal_check`, over the opened footprint or its whole parts, the
        figures the bound was applied to: ``edge_ratio``, ``opacity``, ``pairs``, ``failed``),
        ``footprint`` (the parts removed), ``weight`` (their stroke weight ``w``),
        ``opacity`` (the one applied, ``s a``),
        ``found_opacity`` (``a``), ``strength`` (``s``) and ``colour``.

    Shape:
        - crop, result: ``(H, W, 3)``; footprint, weight: ``(H, W)``

    Example:
        >>> ys, xs = np.mgrid[0:48, 0:96] / np.array([48.0, 96.0])[:, None, None]
        >>> photo = np.stack([0.2 + 0.4 * xs, 0.3 + 0.3 * ys, 0.5 - 0.2 * xs * ys], axis=-1)
        >>> logo = np.zeros((48, 96), bool)
        >>> logo[10:38, 12:22] = logo[30:38, 12:40] = logo[10:38, 56:66] = True  # "L I"
        >>> marked = np.where(logo[..., None], 0.8 * photo + 0.2, photo)  # white, a = 0.2
        >>> out = remove_logo(marked)
        >>> psnr = lambda x: -10 * np.log10(np.mean((x - photo) ** 2))
        >>> bool(out["kept_input"]), round(psnr(marked)), round(psnr(out["result"]))
        (False, 27, 44)
    """
    # not_dark leaves of the palette every corner of the RGB cube but black
    out = blind_remove(crop, colour_ok=not_dark, null_step=False, steps=PAIR_STEPS)
    footprint, colour = out["footprint"], np.asarray(out["colour"], np.float64)
    opacity, colour = outline_opacity(crop, footprint, out["opacity"], colour)
    # the check runs on the whole parts and on the opened footprint alone, and the stricter
    # one holds: the parts taken back must not make an unsure removal look sure
    opened = footprint
    footprint = whole_parts(opened, out["cut"])
    _, opened_check = remove_and_check(crop, opened, opacity, colour, max_ratio)
    result, whole_check = remove_and_check(crop, footprint, opacity, colour, max_ratio)
    passed, check = max([opened_check, whole_check], key=lambda c: (not c[0], c[1]["edge_ratio"]))
    strength = removal_strength(check["edge_ratio"], max_ratio, full_ratio) if passed else 0.0
    if passed and strength == 0.0:  # exactly at the bound: a removal of no strength
        passed = False
        check = {
            **check,
            "failed": f"removing the recovered logo leaves {max_ratio}"
            " of its outline's step (the bound)",
        }
    if passed:
        footprint = faded_parts(crop, result, footprint, opacity, max_ratio)
        if not footprint.any():
            passed, strength = False, 0.0
            check = {**check, "failed": "no part of the recovered logo fades on its own"}
    weight = stroke_weight(footprint)
    if passed:
        result = affine_remove(crop, weight, strength * opacity, colour)
    return {
        "result": result if passed else crop,
        "kept_input": not passed,
        "check": check,
        "footprint": footprint,
        "weight": weight,
        "opacity": float(strength * opacity),
        "found_opacity": float(opacity),
        "strength": strength,
        "colour": colour,
    }
