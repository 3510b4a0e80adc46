"""A watermark suite with exact ground truth: text logos over the bundled photographs.

Each case is :func:`watermark_case` (rendered, anti-aliased text; white for half the seeds, a
random saturated colour for the others) on one of the license-clean photos, at the faint
opacities real watermarks have: a peak opacity of 0.12–0.24, the effective opacities of the
dev set's logos (opacity 0.3–0.6 times their alpha 100/255). The image is rounded to 8 bits,
as a saved photo is. With ``inverted`` the text's colour ``W`` becomes ``1 − W`` (white text
turns black, a saturated colour its dark complement): the same cases with dark logos.
"""

from __future__ import annotations

import torch

from dipsys.data.synthetic.mixtures import watermark_case
from dipsys.data.synthetic.samples import load_sample

__all__ = ["WATERMARK_SUITE_PHOTOS", "watermark_suite"]

WATERMARK_SUITE_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")
_TEXTS = ("dipsys", "STOCK", "sample", "PHOTO")
_OPACITIES = (0.12, 0.16, 0.2, 0.24)


def watermark_suite(per_photo: int = 5, inverted: bool = False) -> list[dict]:
    """``per_photo`` cases on each bundled photo (seeds 0 … per_photo − 1), the text's colour
    inverted with ``inverted``.

    .. math:: I = (1 - \\alpha) J + \\alpha W \\quad (W \\to 1 - W \\text{ when inverted})

    Returns:
        One dict per case: ``name``, ``image`` (8-bit rounded), ``clean``, ``box``
        (``[x0, y0, x1, y1]``), ``opacity`` and ``colour`` (the text's).

    Shape:
        - image, clean: ``(3, H, W)``; colour: ``(3,)``

    Example:
        >>> cases = watermark_suite(per_photo=1)
        >>> len(cases), cases[0]["name"]
        (4, 'astronaut_s0_dipsys_a0.12')
    """
    cases = []
    for index, photo in enumerate(WATERMARK_SUITE_PHOTOS):
        clean = load_sample(photo)
        for seed in range(per_photo):
            text, opacity = _TEXTS[seed % len(_TEXTS)], _OPACITIES[(index + seed) % 4]
            case = watermark_case(clean, seed=seed, text=text, opacity=opacity)
            x0, y0 = case["box"][:2]
            colour_layer = 1 - case["watermark"] if inverted else case["watermark"]
            image = (1 - case["alpha"]) * case["clean"] + case["alpha"] * colour_layer
            cases.append(
                {
                    "name": f"{photo}_s{seed}_{text}_a{opacity}" + ("_dark" if inverted else ""),
                    "image": torch.round(image * 255) / 255,
                    "clean": case["clean"],
                    "box": case["box"],
                    "opacity": opacity,
                    "colour": colour_layer[:, y0, x0].clone(),
                }
            )
    return cases
