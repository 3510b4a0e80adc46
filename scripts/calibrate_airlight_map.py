"""The noise levels of the banded airlight map, measured on real hazy photos.

    python scripts/calibrate_airlight_map.py [--airlight-set DIR]

:func:`dipsys.ops.airlight_map.banded_airlight_map` weighs each band's haziest colour against a
prior at the global estimate's colour. Both weights are noise levels read here from photos with
an annotated (uniform) airlight (``airlights_gt.json``; read by path, never copied):

- ``band_error``: a band's colour is off the annotated airlight's by an angle that grows with the
  transmission left in its haziest pixels; the slope of that angle against ``1 − D̄`` (a least-
  squares line through the origin, degrees);
- ``colour_error``: the mean angle between the global estimate (the default estimator) and the
  annotation (degrees).

Prints both, their spread and the pairs they come from. One thread, a few seconds.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import torch
from evaluate import dev_airlight_set

from dipsys.data.io import read_image
from dipsys.ops.airlight import AIRLIGHT_ESTIMATORS
from dipsys.ops.airlight_map import haziest_band_colours
from dipsys.ops.resize import resize_longest_side


def angle(a: torch.Tensor, b: torch.Tensor) -> float:
    """Degrees between two colours."""
    cosine = float(torch.nn.functional.cosine_similarity(a, b, dim=0).clamp(-1, 1))
    return math.degrees(math.acos(cosine))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--airlight-set", type=Path, default=dev_airlight_set())
    parser.add_argument("--estimator", default="bounded", choices=list(AIRLIGHT_ESTIMATORS))
    args = parser.parse_args()
    torch.set_num_threads(1)
    truth = json.loads((args.airlight_set / "airlights_gt.json").read_text())
    estimate = AIRLIGHT_ESTIMATORS[args.estimator]
    pairs, global_angles = [], []
    for name, colour in sorted(truth.items()):
        path = next(args.airlight_set.glob(f"{name}.*"), None)
        if path is None:
            continue
        small = resize_longest_side(read_image(path)[None], 128)
        airlight = estimate(small).view(3)
        annotated = torch.tensor(colour, dtype=torch.float32)
        global_angles.append(angle(airlight, annotated))
        colours, _, darkness = haziest_band_colours(small[0], airlight)
        for band_colour, dark in zip(colours, darkness, strict=True):
            pairs.append((1 - float(dark), angle(band_colour, annotated)))
    x = torch.tensor([p[0] for p in pairs])
    y = torch.tensor([p[1] for p in pairs])
    slope = float((x * y).sum() / (x * x).sum())
    spread = float(((y - slope * x) ** 2).mean().sqrt())
    print(f"{len(global_angles)} photos, {len(pairs)} bands")
    print(f"band_error   = {slope:.2f} degrees per unit of 1 - D (rms residual {spread:.2f})")
    print(f"colour_error = {sum(global_angles) / len(global_angles):.2f} degrees "
          f"(median {sorted(global_angles)[len(global_angles) // 2]:.2f})")  # fmt: skip
    print("pairs (1 - D, degrees):", [(round(a, 2), round(b, 1)) for a, b in pairs])


if __name__ == "__main__":
    main()
