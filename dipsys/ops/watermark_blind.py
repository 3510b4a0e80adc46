"""Blind removal of a flat semi-transparent logo and its check without ground truth.

Hypotheses ``(a, L)`` (see :mod:`.watermark_affine`) — the colour voted by the box's edges at
each opacity and a fixed palette — are ranked by the energy their footprint cut
(:mod:`.watermark_footprint`) saves; :func:`removal_check` keeps the input unless the logo's
outline fades in the result.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import ndimage

from dipsys.ops.watermark_affine import (
    affine_remove,
    edge_ratio,
    fit_opacity,
    null_step_opacity,
    outline_pairs,
    pair_pixels,
    vote_opacity,
)
from dipsys.ops.watermark_footprint import footprint_cut

__all__ = ["blind_remove", "checked_remove", "not_dark", "remove_and_check", "removal_check"]


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
    ``‖R_p − R_q‖₁`` of the result against the input's (:func:`.edge_ratio`) must fall to
    ``max_ratio`` or less;
    the opacity must lie in ``opacity_range`` and the outline must have ``min_pairs`` pairs.

    Returns:
        ``(passed, figures)``: ``edge_ratio``, ``opacity``, ``pairs`` (per image) and
        ``failed``, the first condition that failed in words (None when passed).

    Shape:
        - image, result: ``(H, W, 3)`` or ``(N, H, W, 3)`` (pairs pooled); footprint: ``(H, W)``
    """
    ratio, pairs = edge_ratio(image, result, footprint)
    failed = None
    if pairs < min_pairs:
        failed = f"the recovered logo's outline has {pairs} pixel pairs (fewer than {min_pairs})"
    elif not opacity_range[0] <= opacity <= opacity_range[1]:
        low, high = opacity_range
        failed = f"the recovered opacity {opacity:.3f} lies outside {low}-{high}"
    elif not ratio <= max_ratio:
        failed = (
            f"removing the recovered logo leaves {ratio:.2f} of its outline's step "
            f"(more than {max_ratio})"
        )
    figures = {"edge_ratio": ratio, "opacity": opacity, "pairs": pairs, "failed": failed}
    return failed is None, figures


def remove_and_check(
    image: np.ndarray,
    footprint: np.ndarray,
    opacity: float,
    colour: np.ndarray,
    max_ratio: float = 0.5,
) -> tuple[np.ndarray, tuple[bool, dict]]:
    """The removal of ``(opacity, colour)`` over ``footprint`` (:func:`.affine_remove`) and its
    :func:`removal_check`: ``(result, (passed, figures))``.

    Shape:
        - image, result: ``(H, W, 3)`` or ``(N, H, W, 3)``; footprint: ``(H, W)``
    """
    result = affine_remove(image, footprint, opacity, colour)
    return result, removal_check(image, result, footprint, opacity, max_ratio=max_ratio)


#: colours tried besides the voted one: the RGB cube's corners and mid grey
PALETTE = tuple(np.array(c, np.float64) for c in np.ndindex(2, 2, 2)) + (np.full(3, 0.5),)


def not_dark(colour: np.ndarray, brightest: float = 0.6) -> bool:
    """A logo colour prior: some channel of ``colour`` reaches ``brightest``.

    One photo leaves two senses of the same outline: a light logo over the footprint, or a
    dark one over the rest of the box. Watermarks are drawn light (white text, a bright or
    saturated mark) to show on photos; the dark sense is the usual wrong answer.

    Example:
        >>> not_dark(np.array([1.0, 1.0, 1.0])), not_dark(np.array([0.1, 0.9, 0.3]))
        (True, True)
        >>> not_dark(np.array([0.5, 0.5, 0.5]))
        False
    """
    return float(np.clip(colour, 0, 1).max()) >= brightest


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
    colour_ok: Callable[[np.ndarray], bool] | None = None,
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
        image: the crop of the user's box, or a stack of crops of photos under one logo at
            the same place (one footprint, opacity and colour for all; their evidence pooled).
        rounds: refits of ``(a, L)``.
        opacities: candidate opacities (default 0.06–0.39 by 0.03).
        palette: colours tried at every opacity besides the voted one.
        colour_rounds, colour_weight: the photo-colour term of the last cut.
        opening: remove one-pixel strips from the footprint.
        null_step: re-estimate the opacity from the outline's median step.
        rival: also finish the best hypothesis of the other sense (``out["rival"]``).
        ring: border pixels of the crop fixed outside the logo (the box's margin).
        area_cost: ``λ`` of :func:`footprint_cut`.
        colour_ok: a prior on the logo's colour: hypotheses (voted, palette or refitted)
            whose colour it rejects are not tried (e.g. :func:`not_dark`); None tries all.
        **cut: further options of :func:`footprint_cut` (``steps``, ``cap``).

    Returns:
        ``result`` (the photo estimate, shaped as ``image``), ``footprint``, ``cut`` (the
        footprint before the opening), ``opacity``, ``colour``, ``gain`` (the winning
        hypothesis's energy drop per crop pixel) and ``tried`` (``(gain per pixel, a, L)`` of
        every hypothesis).

    Shape:
        - image, result: ``(H, W, 3)`` or ``(N, H, W, 3)``; footprint: ``(H, W)``
    """
    if opacities is None:
        opacities = np.round(np.arange(0.06, 0.42, 0.03), 2)
    cut = {"ring": ring, "area_cost": area_cost, **cut}
    best = (-np.inf, 0.0, np.ones(3), np.zeros(image.shape[-3:-1], bool))
    tried = []
    allowed = colour_ok or (lambda colour: True)
    for a, voted, _ in vote_opacity(image, opacities, return_modes=True):
        for colour in (np.clip(voted, 0, 1), *palette):
            if not allowed(colour):
                continue
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
    for _ in range(rounds):
        p, q = outline_pairs(footprint)
        if len(p) < 4:
            break
        a_new, colour_new, _ = fit_opacity(*pair_pixels(image, p, q))
        if not 0.0 < a_new < 0.9:
            break
        colour_new = np.clip(colour_new, 0, 1)
        if not allowed(colour_new):
            break
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
    cut = footprint
    if opening:
        # strips one pixel wide along the photo's own edges are not a logo's strokes
        footprint = ndimage.binary_opening(footprint)
    if null_step:
        a_step, pairs = null_step_opacity(image, footprint, colour)
        if pairs >= 20:
            a = a_step
    result = affine_remove(image, footprint, a, colour)
    return {
        "result": result,
        "footprint": footprint,
        "cut": cut,
        "opacity": float(a),
        "colour": colour,
    }


def checked_remove(image: np.ndarray, max_ratio: float = 0.5, **blind) -> dict:
    """Blind removal kept only where :func:`removal_check` passes; else the input.

    The winning hypothesis of :func:`blind_remove` and its rival of the other sense are both
    checked; of those that pass, the one whose outline fades most (lowest edge ratio) is
    taken.

    Returns:
        ``result`` (the input when nothing passes), ``kept_input``, ``check`` (the figures of
        :func:`removal_check` for the chosen candidate, or, when none passed, for the one whose
        outline faded most), ``candidate`` (``"winner"``, ``"rival"`` or ``None``) and
        ``blind`` (the :func:`blind_remove` output).

    Shape:
        - image, result: ``(H, W, 3)``, or ``(N, H, W, 3)`` for N photos under one logo
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
            "check": min(checked, key=lambda c: c[1])[4],
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
