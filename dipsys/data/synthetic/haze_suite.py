"""A dehazing suite with exact ground truth: varied views, densities and airlights.

Every case is a view (crop) of a bundled license-clean photograph, hazed by
``I = t·J + (1 − t)·A`` with ``t = exp(−β·d)`` for a smooth depth ``d`` (:func:`smooth_depth`).
The cases cycle through densities (light β≈0.8 to dense β≈2.4), airlight colours (neutral
gray, bluish daylight, warm) and, for one case in three, a non-uniform airlight: a dusk/dawn
gradient whose colour changes from the horizon to the top of the frame (the scenes where one
airlight colour cannot be right).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from dipsys.data.synthetic.haze import smooth_depth
from dipsys.data.synthetic.samples import load_sample
from dipsys.ops.haze import add_haze

__all__ = ["HAZE_SUITE_PHOTOS", "gradient_airlight", "haze_suite"]

HAZE_SUITE_PHOTOS = ("rocket", "coffee", "chelsea", "astronaut")
# views of each photo: (top, left, height, width) as fractions of the photo
_VIEWS = ((0.0, 0.0, 1.0, 1.0), (0.0, 0.3, 0.75, 0.7), (0.25, 0.0, 0.75, 0.65))
_BETAS = (0.8, 1.4, 2.0, 2.4, 1.1, 1.7)
_AIRLIGHTS = ((0.85, 0.86, 0.88), (0.72, 0.80, 0.92), (0.92, 0.86, 0.74), (0.78, 0.78, 0.78))
# non-uniform airlights: (colour at the horizon/bottom, colour at the top)
_GRADIENTS = (
    ((0.95, 0.78, 0.60), (0.60, 0.70, 0.90)),  # dusk: warm horizon, blue sky
    ((0.90, 0.90, 0.90), (0.55, 0.65, 0.85)),  # bright horizon, darker blue zenith
    ((0.70, 0.75, 0.90), (0.95, 0.85, 0.70)),  # dawn from above: warm top, cool bottom
)


def gradient_airlight(
    height: int, width: int, bottom: tuple[float, ...], top: tuple[float, ...], tilt: float = 0.3
) -> torch.Tensor:
    """A smooth airlight map blending from ``bottom`` to ``top`` colour, slightly tilted.

    .. math:: A(x) = (1 - s(x)) A_{bottom} + s(x) A_{top}, \\quad
        s = \\operatorname{clip}(v + \\text{tilt}\\,(u - 0.5), 0, 1)

    with ``v`` the height above the bottom row and ``u`` the column, both in [0, 1].

    Shape:
        - Output: ``(3, H, W)``
    """
    v = torch.linspace(0, 1, height).view(height, 1)
    u = torch.linspace(0, 1, width).view(1, width)
    s = (v.flip(0) + tilt * (u - 0.5)).clamp(0, 1)[None]
    lo = torch.tensor(bottom).view(3, 1, 1)
    hi = torch.tensor(top).view(3, 1, 1)
    return (1 - s) * lo + s * hi


def _view(photo: torch.Tensor, box: tuple[float, ...], side: int) -> torch.Tensor:
    h, w = photo.shape[-2:]
    top, left, fh, fw = box
    rows = slice(round(top * h), round((top + fh) * h))
    cols = slice(round(left * w), round((left + fw) * w))
    crop = photo[:, rows, cols]
    scale = side / max(crop.shape[-2:])
    size = (max(8, round(crop.shape[1] * scale)), max(8, round(crop.shape[2] * scale)))
    return F.interpolate(crop[None], size=size, mode="bilinear", antialias=True)[0].clamp(0, 1)


def haze_suite(side: int = 128, count: int = 24) -> dict[str, dict[str, torch.Tensor]]:
    """``count`` synthetic hazy cases, deterministic, each at most ``side`` pixels long.

    Case ``i`` takes view ``i`` of the photos × views list (cycling), density
    ``_BETAS[(i + r) % 6]`` (``r``: the round over the views) and depth seed ``i``; every third
    case (``(i + r) % 3 == 2``) gets a gradient airlight, the others a uniform colour from
    ``_AIRLIGHTS``.

    Returns:
        name → ``{"hazy", "clean", "transmission", "airlight", "uniform"}`` where ``uniform``
        is a 0-d bool tensor and ``airlight`` is ``(3, 1, 1)`` or ``(3, H, W)``.

    Shape:
        - hazy, clean: ``(3, H, W)``; transmission: ``(1, H, W)``
    """
    photos = {name: load_sample(name) for name in HAZE_SUITE_PHOTOS}
    views = [(name, v) for v in range(len(_VIEWS)) for name in HAZE_SUITE_PHOTOS]
    cases = {}
    for i in range(count):
        name, v = views[i % len(views)]
        clean = _view(photos[name], _VIEWS[v], side)
        h, w = clean.shape[-2:]
        shift = i // len(views)  # later rounds over the views get other densities and kinds
        beta = _BETAS[(i + shift) % len(_BETAS)]
        uniform = (i + shift) % 3 != 2
        if uniform:
            airlight = torch.tensor(_AIRLIGHTS[i % len(_AIRLIGHTS)]).view(3, 1, 1)
        else:
            bottom, top = _GRADIENTS[(i // 3) % len(_GRADIENTS)]
            airlight = gradient_airlight(h, w, bottom, top)
        transmission = torch.exp(-beta * smooth_depth(h, w, seed=i))
        hazy = add_haze(clean[None], transmission[None], airlight[None])[0].clamp(0, 1)
        kind = "uniform" if uniform else "gradient"
        cases[f"{i:02d}_{name}{v}_{kind}_b{beta:.1f}"] = {
            "hazy": hazy,
            "clean": clean,
            "transmission": transmission,
            "airlight": airlight,
            "uniform": torch.tensor(uniform),
        }
    return cases
