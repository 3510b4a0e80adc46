"""The classical affine removal (``dipsys.ops.watermark_affine``) on the watermark dev cases.

    python scripts/evaluate_watermark_affine.py                 # the 10 cases of the report
    python scripts/evaluate_watermark_affine.py --cases 20 --json /tmp/affine.json

Same cases as ``scripts/evaluate_watermark.py`` (``watermark_cases.single_cases``), scored the
same way: PSNR (dB) / SSIM inside the box against the clean photo. Columns:

- ``input``: the watermarked image untouched;
- ``inpaint_telea`` / ``inpaint_ns``: ``cv2.inpaint`` of the logo's exact footprint (dilated
  1 px), radius 5 — told which pixels the logo covers;
- ``oracle``: the affine removal on the true footprint (α > 0), with ``(a, L)`` fitted from
  its outline (:func:`fit_opacity`) — the ceiling of the footprint estimate;
- ``blind``: :func:`blind_remove` given the box only;
- ``checked``: :func:`checked_remove` — the winner or its rival of the other sense where
  :func:`removal_check` passes (the lower edge ratio of those that pass), else the input.

Nothing of the dev photos is written anywhere but the optional ``--json`` figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evaluate_watermark import DEVDATA, baselines, in_box, to_tensor  # noqa: E402
from watermark_cases import composite, single_cases  # noqa: E402
from watermark_report import figure_cells  # noqa: E402

from dipsys.ops.watermark_affine import affine_remove, fit_opacity, outline_pairs  # noqa: E402
from dipsys.ops.watermark_blind import checked_remove  # noqa: E402

METHODS = ("input", "inpaint_telea", "inpaint_ns", "oracle", "blind", "checked")


def paste(image: np.ndarray, crop: np.ndarray, box: list[int]) -> np.ndarray:
    x0, y0, x1, y1 = box
    out = image.copy()
    out[y0:y1, x0:x1] = crop
    return out


def evaluate(case, args) -> dict:
    made = composite(case)
    image, clean, box = made["image"].astype(np.float64), made["clean"], made["box"]
    x0, y0, x1, y1 = box
    crop = image[y0:y1, x0:x1]
    start = time.perf_counter()
    footprint = made["footprint"][y0:y1, x0:x1]
    p, q = outline_pairs(footprint)
    flat = crop.reshape(-1, 3)
    a_or, colour_or, _ = fit_opacity(flat[p], flat[q])
    oracle = affine_remove(crop, footprint, a_or, np.clip(colour_or, 0, 1))
    checked = checked_remove(
        crop, max_ratio=args.max_ratio, area_cost=args.area_cost, ring=args.ring
    )
    blind = checked["blind"]
    passed, figures = not checked["kept_input"], checked["check"]
    wall = time.perf_counter() - start
    estimates = {
        "input": image,
        "oracle": paste(image, oracle, box),
        "blind": paste(image, blind["result"], box),
        "checked": paste(image, checked["result"], box),
    }
    tensors = {k: to_tensor(v.astype(np.float32)) for k, v in estimates.items()}
    tensors.update(baselines(to_tensor(made["image"]), made["footprint"]))
    truth = to_tensor(clean)
    scores = {k: in_box(v, truth, box) for k, v in tensors.items()}
    true_a = float(made["alpha"].max())
    f_true = footprint
    f_est = blind["footprint"]
    iou = float((f_true & f_est).sum() / max(1, (f_true | f_est).sum()))
    return {
        "case": case.name,
        "figures": scores,
        "true_opacity": true_a,
        "oracle_opacity": a_or,
        "oracle_colour": np.round(colour_or, 3).tolist(),
        "blind_opacity": blind["opacity"],
        "blind_colour": np.round(blind["colour"], 3).tolist(),
        "gain": blind["gain"],
        "iou": iou,
        "check": {"passed": passed, "candidate": checked["candidate"], **figures},
        "wall_s": round(wall, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=DEVDATA / "photos")
    parser.add_argument("--logos", type=Path, default=DEVDATA / "logos")
    parser.add_argument("--cases", type=int, default=10)
    parser.add_argument("--first", type=int, default=0)
    parser.add_argument("--area-cost", type=float, default=0.05)
    parser.add_argument("--ring", type=int, default=3, help="border pixels fixed off the logo")
    parser.add_argument("--max-ratio", type=float, default=0.5, help="removal_check's bound")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    torch.set_num_threads(1)
    photos = sorted(args.photos.glob("*.[jp][pn]g"), key=lambda p: p.stem)
    logos = sorted(args.logos.glob("*.png"), key=lambda p: p.stem)
    cases = single_cases(photos, logos, args.first + args.cases)[args.first :]
    rows = []
    for case in cases:
        r = evaluate(case, args)
        rows.append(r)
        f = r["figures"]
        print(
            f"{r['case']}: "
            + "  ".join(f"{m} {f[m]['psnr']:.2f}" for m in METHODS)
            + f"  | a true {r['true_opacity']:.3f} oracle {r['oracle_opacity']:.3f} "
            f"blind {r['blind_opacity']:.3f} L {r['blind_colour']} iou {r['iou']:.2f} "
            f"check {r['check']['passed']} {r['check']['candidate']} "
            f"ratio {r['check']['edge_ratio']:.2f} "
            f"{r['wall_s']} s",
            flush=True,
        )
    print("| case | " + " | ".join(METHODS) + " |")
    print("|---|" + "---|" * len(METHODS))
    for r in rows:
        print(f"| {r['case']} | " + " | ".join(figure_cells([r], METHODS)) + " |")
    for label, pick in (("mean", statistics.mean), ("min", min)):
        print(f"| {label} | " + " | ".join(figure_cells(rows, METHODS, pick)) + " |")
    for m in ("oracle", "blind", "checked"):
        gains = [r["figures"][m]["psnr"] - r["figures"]["input"]["psnr"] for r in rows]
        print(
            f"{m} − input: mean {statistics.mean(gains):+.2f} dB, min {min(gains):+.2f} dB, "
            f"above on {sum(g > 0 for g in gains)} of {len(gains)}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
