"""A light or a dark logo in one photo's box: the removal read both ways, the surer one taken.

:func:`.remove_logo` reads a *light* logo. A dark logo over the photo is a light one over its
negative,

.. math:: 1 - I = (1 - a)(1 - J) + a (1 - L),

so :func:`.remove_logo` on ``1 − I`` reads a dark logo. On a dark logo the light reading
does not simply fail: the photo between the dark strokes (a letter's counter, the gaps between
letters) stands out as a lifted region, and removing a light logo from it passes the check
while it darkens the photo (below the input on 18 of 30 dev cases under dark logos).

Both readings are judged without ground truth by what their full-strength removal leaves of
an outline's step (:func:`.edge_ratio`, the figure :func:`.removal_check` bounds: mean
``‖R_p − R_q‖₁`` over mean ``‖I_p − I_q‖₁`` across an outline):

- ``own``: across the reading's own footprint;
- ``both``: across the outlines of both readings' footprints. The true removal also fades the
  other reading's outline, which borders the logo; the wrong one leaves the logo's other edges.

A light reading must also point the right way (:func:`toward_white`). A light logo lifts a
pixel toward its colour, ``I_p − J_p = a (L − J_p)``, so across the outline the step
``I_p − I_q`` leans, in chroma, along ``1 − I_q``: toward white, away from the photo's own colour.
Shading, a texture's highlights and the photo between a dark logo's strokes step the other way,
along ``I_q`` itself (a darker or lighter shade of the same colour). When the steps lean away
from white (a z-score below ``LIGHT_Z``) the light reading is not a light logo's: the dark one
is then taken when its check passes and it is not worse on both outlines (no ``s`` below).

Light logos are the common case (a white or pale mark), so the light reading holds unless the
dark one is clearly surer on both counts:

.. math:: r^{d}_{\\text{own}} < s \\, r^{l}_{\\text{own}} \\quad\\text{and}\\quad
    r^{d}_{\\text{both}} < r^{l}_{\\text{both}} + \\tau

(``d`` dark, ``l`` light, ``s`` = ``DARK_SHARE``, ``τ`` = ``BOTH_TOLERANCE``). On the dev
photos under their light logos the own ratios alone are close on a few cases (0.57 against 0.66
for the light reading's, where the dark reading's removal loses 4 dB); there the outlines of
both readings tell them apart (0.99 against 0.67).
"""

from __future__ import annotations

import numpy as np

from dipsys.ops.watermark_affine import affine_remove, edge_ratio, outline_pairs, pair_pixels
from dipsys.ops.watermark_single import FULL_RATIO, remove_logo

__all__ = ["BOTH_TOLERANCE", "DARK_SHARE", "LIGHT_Z", "remove_light_or_dark", "toward_white"]

#: the share of the light reading's own edge ratio the dark reading must stay under
DARK_SHARE = 0.85
#: how much more of both readings' outlines the dark reading may leave than the light one
BOTH_TOLERANCE = 0.05
#: the z-score of the outline's lean toward white below which a light reading is not a logo's
LIGHT_Z = -1.0


def toward_white(crop: np.ndarray, footprint: np.ndarray) -> float:
    """How surely the steps across the footprint's outline lean toward white (a z-score).

    With ``c(x) = x − mean_k x_k`` the chroma of a colour (its channels less their mean), each
    outline pair (:func:`.outline_pairs`, ``p`` inside) gives

    .. math:: x_{pq} = c(I_p - I_q) \\cdot c(1 - I_q), \\qquad
        z = \\frac{\\bar{x}}{\\operatorname{std}(x) / \\sqrt{P}}

    positive for a light logo's lift (along ``L − J``, white or pale ``L``), negative for
    shading (along ``I_q``). A grey photo gives ``x ≈ 0``: no evidence either way.

    Returns:
        ``z``; 0 when the outline has fewer than two pairs or no chroma at all.

    Shape:
        - crop: ``(H, W, 3)``; footprint: ``(H, W)`` bool

    Example:
        >>> photo = np.tile([0.2, 0.5, 0.3], (32, 32, 1))  # a green field
        >>> logo = np.zeros((32, 32), bool); logo[8:24, 8:24] = True
        >>> lifted = np.where(logo[..., None], 0.8 * photo + 0.2, photo)  # white, a = 0.2
        >>> shaded = np.where(logo[..., None], 1.2 * photo, photo)  # a brighter shade
        >>> noise = np.random.default_rng(0).normal(0, 0.01, photo.shape)
        >>> toward_white(lifted + noise, logo) > 3, toward_white(shaded + noise, logo) < -3
        (True, True)
    """
    p, q = outline_pairs(footprint)
    if len(p) < 2:
        return 0.0
    inside, outside = pair_pixels(np.asarray(crop, np.float64), p, q)
    step, lift = inside - outside, 1.0 - outside
    step -= step.mean(axis=1, keepdims=True)
    lift -= lift.mean(axis=1, keepdims=True)
    x = (step * lift).sum(axis=1)
    spread = x.std() / np.sqrt(len(x))
    return float(x.mean() / spread) if spread > 0 else 0.0


def _full_removal(crop: np.ndarray, out: dict) -> np.ndarray:
    """The reading's removal at its found opacity (strength 1) over its footprint's weight."""
    return affine_remove(crop, out["weight"], out["found_opacity"], out["colour"])


def remove_light_or_dark(
    crop: np.ndarray, max_ratio: float = 0.9, full_ratio: float = FULL_RATIO
) -> dict:
    """The photo under a light or a dark semi-transparent logo in ``crop``, or ``crop`` itself.

    Args:
        crop: the box of one photo (a few pixels of margin around the logo), in [0, 1].
        max_ratio, full_ratio: the check's bounds (:func:`.remove_logo`).

    Returns:
        :func:`.remove_logo`'s output for the reading taken, in the photo's own values (a
        dark reading's ``result`` and ``colour`` mapped back from the negative), with
        ``polarity`` (``"light"`` or ``"dark"``) and ``readings``: per polarity, the edge
        ratios ``own`` and ``both`` its full-strength removal leaves, and for the light one its
        lean ``toward_white``.

    Shape:
        - crop, result: ``(H, W, 3)``; footprint, weight: ``(H, W)``

    Example:
        >>> ys, xs = np.mgrid[0:48, 0:96] / np.array([48.0, 96.0])[:, None, None]
        >>> photo = np.stack([0.3 + 0.4 * xs, 0.4 + 0.3 * ys, 0.6 - 0.2 * xs * ys], axis=-1)
        >>> logo = np.zeros((48, 96), bool)
        >>> logo[10:38, 12:22] = logo[30:38, 12:40] = logo[10:38, 56:66] = True  # "L I"
        >>> marked = np.where(logo[..., None], 0.75 * photo, photo)  # black, a = 0.25
        >>> out = remove_light_or_dark(marked)
        >>> psnr = lambda x: -10 * np.log10(np.mean((x - photo) ** 2))
        >>> out["polarity"], round(psnr(marked)), round(psnr(out["result"]))
        ('dark', 26, 43)
    """
    crop = np.asarray(crop, np.float64)
    light = remove_logo(crop, max_ratio=max_ratio, full_ratio=full_ratio)
    dark = remove_logo(1.0 - crop, max_ratio=max_ratio, full_ratio=full_ratio)
    light_full = _full_removal(crop, light)
    dark_full = 1.0 - _full_removal(1.0 - crop, dark)
    either = light["footprint"] | dark["footprint"]
    readings = {
        "light": {
            "own": edge_ratio(crop, light_full, light["footprint"])[0],
            "both": edge_ratio(crop, light_full, either)[0],
            "toward_white": toward_white(crop, light["footprint"]),
        },
        "dark": {
            "own": edge_ratio(crop, dark_full, dark["footprint"])[0],
            "both": edge_ratio(crop, dark_full, either)[0],
        },
    }
    # a light reading whose steps lean away from white is no light logo's: a dark reading that
    # passes its check then need not be surer on its own outline, only not worse on both
    leans_away = readings["light"]["toward_white"] < LIGHT_Z
    surer = (
        not dark["kept_input"]
        if leans_away
        else readings["dark"]["own"] < DARK_SHARE * readings["light"]["own"]
    ) and readings["dark"]["both"] < readings["light"]["both"] + BOTH_TOLERANCE
    if not surer:
        return {**light, "polarity": "light", "readings": readings}
    result = crop if dark["kept_input"] else 1.0 - dark["result"]  # a kept box is the input
    mapped = {"result": result, "colour": 1.0 - np.asarray(dark["colour"])}
    return {**dark, **mapped, "polarity": "dark", "readings": readings}
