"""The opacity and colour of a flat logo, read off its footprint's outline.

:func:`outline_opacity` refines the ranked hypothesis of :func:`.blind_remove` for one photo
(:func:`.remove_logo`): the outline fit, guarded against the colour it may trade for opacity.
"""

from __future__ import annotations

import numpy as np

from dipsys.ops.watermark_affine import fit_opacity, null_step_opacity, outline_pairs, pair_pixels
from dipsys.ops.watermark_blind import not_dark, remove_and_check

__all__ = ["outline_opacity"]

#: the opacities an outline fit may return before the ranked one is kept
FIT_RANGE = (0.05, 0.7)
#: the brightest channel an outline fit's colour may have and still be taken as it is
GAMUT = 1.05
#: the fewest outline pairs the null-step opacity needs to be read
STEP_PAIRS = 20
#: how much less of the outline's step a re-read opacity must leave than the fit's
REREAD_MARGIN = 0.05


def outline_opacity(
    crop: np.ndarray, footprint: np.ndarray, ranked: float, colour: np.ndarray
) -> tuple[float, np.ndarray]:
    """The opacity and colour read off the outline of ``footprint``, from the ranked ``(a, L)``.

    The outline fit (:func:`.fit_opacity`) is taken when its opacity lies in ``FIT_RANGE`` and
    its colour is light and inside the RGB cube (no channel above ``GAMUT``). A colour beyond
    white is the fit trading opacity for colour along ``I = (1 − a) J + a L``: where the photo
    inside the outline is more textured than outside, the spread ratio reads ``a`` low and
    ``L`` far above 1 (on the dev cases ``L`` ≈ 1.4–1.9 at half the true ``a``), and clipping
    ``L`` alone would keep that low ``a``. Then the colour is clipped and the opacity re-read
    for it by :func:`.null_step_opacity`, whose median step the texture's spread does not bias.
    The re-read opacity must earn its place by the check that judges removals
    (:func:`.removal_check`): its removal must leave at least ``REREAD_MARGIN`` less of the
    outline's step than the fit's does, or the fit's opacity is kept. A logo of several
    colours is the case this guards: the null step of one flat colour reads its opacity high,
    and the outline hardly fades more for it.
    When the fit fails otherwise, the smaller of ``ranked`` and the null-step opacity for
    ``colour`` is taken: removing too little leaves a fainter logo, removing too much darkens
    the photo.

    Returns:
        ``(a, L)``: the opacity and the colour ``(3,)`` in [0, 1].

    Shape:
        - crop: ``(H, W, 3)``; footprint: ``(H, W)``
    """
    p, q = outline_pairs(footprint)
    fitted, fitted_colour, _ = fit_opacity(*pair_pixels(crop, p, q))
    if FIT_RANGE[0] < fitted < FIT_RANGE[1] and not_dark(fitted_colour):
        colour = np.clip(fitted_colour, 0, 1)
        if fitted_colour.max() <= GAMUT:
            return fitted, colour
        stepped, pairs = null_step_opacity(crop, footprint, colour)
        if pairs >= STEP_PAIRS and _left(crop, footprint, stepped, colour) + REREAD_MARGIN <= (
            _left(crop, footprint, fitted, colour)
        ):
            return stepped, colour
        return fitted, colour
    stepped, pairs = null_step_opacity(crop, footprint, colour)
    return (min(ranked, stepped) if pairs >= STEP_PAIRS else ranked), colour


def _left(crop: np.ndarray, footprint: np.ndarray, opacity: float, colour: np.ndarray) -> float:
    """The share of the outline's step that removing ``(opacity, colour)`` leaves
    (:func:`.removal_check`'s ``edge_ratio``)."""
    return remove_and_check(crop, footprint, opacity, colour)[1][1]["edge_ratio"]
