"""One photo's watermark removal on the synthetic suite (text over the bundled photos).

    python scripts/evaluate_watermark_synthetic.py             # 20 cases, about a minute
    python scripts/evaluate_watermark_synthetic.py --inverted  # the same cases, dark text

The license-clean complement of ``scripts/evaluate_watermark.py`` (dev photos and logos):
:func:`dipsys.data.synthetic.watermark_suite` cases, the box given, scored inside it — the
input, :func:`dipsys.ops.watermark_polarity.remove_light_or_dark` (what ``task=watermark``
exports in the box; its reading, light or dark) and ``cv2.inpaint`` (Telea) of the text's
footprint (dilated 1 px). PSNR (dB) per case, mean and min, and how many cases end above and
below the input.
"""

from __future__ import annotations

import argparse
import statistics

import numpy as np
import torch

from dipsys.data.synthetic import watermark_suite
from dipsys.ops.inpaint import inpaint
from dipsys.ops.watermark_polarity import remove_light_or_dark


def _psnr(estimate: np.ndarray, truth: np.ndarray) -> float:
    return float(-10 * np.log10(np.mean((estimate - truth) ** 2)))


def evaluate(case: dict) -> dict:
    """PSNR inside the box of the input, the removal and the inpainting of the footprint."""
    x0, y0, x1, y1 = case["box"]
    image = case["image"].permute(1, 2, 0).double().numpy()
    truth = case["clean"].permute(1, 2, 0).double().numpy()[y0:y1, x0:x1]
    crop = image[y0:y1, x0:x1]
    out = remove_light_or_dark(crop)
    footprint = (torch.abs(case["image"] - case["clean"]).sum(0) > 1.5 / 255)[None].float()
    footprint = torch.nn.functional.max_pool2d(footprint[None], 3, 1, 1)[0]  # dilated 1 px
    filled = inpaint(case["image"], footprint).permute(1, 2, 0).double().numpy()
    return {
        "case": case["name"],
        "input": _psnr(crop, truth),
        "dipsys": _psnr(out["result"], truth),
        "inpaint": _psnr(filled[y0:y1, x0:x1], truth),
        "kept_input": out["kept_input"],
        "polarity": out["polarity"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-photo", type=int, default=5, help="cases per bundled photo")
    parser.add_argument("--inverted", action="store_true", help="the text's colour inverted")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = [evaluate(case) for case in watermark_suite(args.per_photo, args.inverted)]
    print("| case | input | dipsys | inpaint Telea (footprint) | kept input | reading |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        kept = "yes" if r["kept_input"] else ""
        print(
            f"| {r['case']} | {r['input']:.2f} | {r['dipsys']:.2f} | {r['inpaint']:.2f} | {kept} "
            f"| {r['polarity']} |"
        )
    for label, pick in (("mean", statistics.mean), ("min", min)):
        cells = " | ".join(
            f"{pick(r[k] for r in rows):.2f}" for k in ("input", "dipsys", "inpaint")
        )
        print(f"| {label} | {cells} | | |")
    gains = [r["dipsys"] - r["input"] for r in rows]
    print(
        f"dipsys − input: mean {statistics.mean(gains):+.2f} dB, min {min(gains):+.2f} dB; "
        f"above on {sum(g > 0.005 for g in gains)}, below on {sum(g < -0.005 for g in gains)} "
        f"of {len(gains)}"
    )


if __name__ == "__main__":
    main()
