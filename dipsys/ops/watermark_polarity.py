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

from dipsys.ops.watermark_affine import affine_remove
from dipsys.ops.watermark_blind import edge_ratio
from dipsys.ops.watermark_single import FULL_RATIO, remove_logo

__all__ = ["BOTH_TOLERANCE", "DARK_SHARE", "remove_light_or_dark"]

#: the share of the light reading's own edge ratio the dark reading must stay under
DARK_SHARE = 0.85
#: how much more of both readings' outlines the dark reading may leave than the light one
BOTH_TOLERANCE = 0.05


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
        ratios ``own`` and ``both`` its full-strength removal leaves.

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
        },
        "dark": {
            "own": edge_ratio(crop, dark_full, dark["footprint"])[0],
            "both": edge_ratio(crop, dark_full, either)[0],
        },
    }
    surer = (
        readings["dark"]["own"] < DARK_SHARE * readings["light"]["own"]
        and readings["dark"]["both"] < readings["light"]["both"] + BOTH_TOLERANCE
    )
    if not surer:
        return {**light, "polarity": "light", "readings": readings}
    result = crop if dark["kept_input"] else 1.0 - dark["result"]  # a kept box is the input
    mapped = {"result": result, "colour": 1.0 - np.asarray(dark["colour"])}
    return {**dark, **mapped, "polarity": "dark", "readings": readings}
