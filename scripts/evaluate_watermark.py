"""Watermark removal on real photos × RGBA logos, inside the box, beside cv2.inpaint.

    python scripts/evaluate_watermark.py                       # 12 cases + 3 multi-image sets
    python scripts/evaluate_watermark.py --cases 4 --sets 0 --overrides trainer.max_steps=300
    python scripts/evaluate_watermark.py --cases 30 --sets 0 --inverted-logos   # dark logos

Cases come from ``scripts/watermark_cases.py`` (the SWCNN protocol, opacities 0.3–0.6, three
scales, four positions). Every case runs ``task=watermark`` with the box given
(``task.bbox``), through ``dipsys.run.train``; the baselines are ``cv2.inpaint`` (Telea and
Navier–Stokes, radius 5) of the logo's footprint (its pixels with α > 0, dilated by one pixel)
— they are told exactly which pixels the logo covers, dipsys only the box. Multi-image sets
run ``task=watermark_multi`` on three photos under the same logo at the same place, with that
box given (``task.bbox``; ``--multi-box auto`` lets the task find it, ``none`` leaves it out),
and are scored in the true box of each photo beside the same inpainting baselines. All
figures are PSNR (dB) and SSIM inside the box against the clean photo (torchmetrics, on the
box's crop). The dev photos are research-use only: nothing of them is written outside
``--out`` (default under ``outputs/``, git-ignored).

Writes ``<out>/results.json`` and the report ``--doc`` (default ``<out>/report.md``; the
figures in docs/results_watermark.md are copied from such reports by hand).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from watermark_cases import Case, composite, multi_sets, single_cases  # noqa: E402
from watermark_report import report  # noqa: E402

from dipsys.config import REPO_ROOT, compose_config  # noqa: E402
from dipsys.data.io import read_image  # noqa: E402
from dipsys.ops.inpaint import inpaint  # noqa: E402
from dipsys.ops.metrics import image_metrics  # noqa: E402
from dipsys.run import train  # noqa: E402

#: ``../shared/devdata`` beside the checkout (or beside its worktree folder)
DEVDATA = next(
    (
        p / "shared" / "devdata" / "watermark"
        for p in (REPO_ROOT.parent, REPO_ROOT.parent.parent)
        if (p / "shared" / "devdata").is_dir()
    ),
    REPO_ROOT.parent / "shared" / "devdata" / "watermark",
)


def to_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) in [0, 1] → (3, H, W)."""
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float()


def write_png(path: Path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
    cv2.imwrite(str(path), pixels[..., ::-1])


def in_box(estimate: torch.Tensor, clean: torch.Tensor, box: list[int]) -> dict[str, float]:
    """PSNR and SSIM of the box's crop."""
    x0, y0, x1, y1 = box
    return image_metrics(estimate[:, y0:y1, x0:x1], clean[:, y0:y1, x0:x1])


def baselines(image: torch.Tensor, footprint: np.ndarray) -> dict[str, torch.Tensor]:
    """cv2.inpaint of the logo's footprint dilated by one pixel."""
    holes = cv2.dilate(footprint.astype(np.uint8), np.ones((3, 3), np.uint8))
    mask = torch.from_numpy(holes).float()[None]
    return {f"inpaint_{m}": inpaint(image, mask, radius=5, method=m) for m in ("telea", "ns")}


def run(overrides: list[str], out: Path) -> tuple[dict, float]:
    shutil.rmtree(out, ignore_errors=True)
    cfg = compose_config([*overrides, "trainer.enable_progress_bar=false"], output_dir=out)
    start = time.perf_counter()
    metrics = train(cfg)
    return metrics, time.perf_counter() - start


def quoted(path: Path) -> str:
    return "'" + str(path).replace("'", "\\'") + "'"


def evaluate_single(case: Case, args: argparse.Namespace) -> dict:
    made = composite(case)
    folder = args.out / "cases" / case.name
    write_png(folder / "input.png", made["image"])
    image, clean, box = to_tensor(made["image"]), to_tensor(made["clean"]), made["box"]
    overrides = [
        "task=watermark",
        f"data.image={quoted(folder / 'input.png')}",
        f"task.bbox=[{','.join(map(str, box))}]",
        f"seed={args.seed}",
        *args.overrides,
    ]
    metrics, wall = run(overrides, args.out / "runs" / case.name)
    layers = args.out / "runs" / case.name / "layers"
    result = read_image(layers / "clean.png")
    estimates = {"input": image, "dipsys": result, **baselines(image, made["footprint"])}
    figures = {name: in_box(x, clean, box) for name, x in estimates.items()}
    removal = metrics.get("removal", {})
    return {
        "case": case.name,
        "box": box,
        "figures": figures,
        "removal": removal,
        "true_opacity": float(made["alpha"].max()),
        "kept_input": removal.get("kept_input", False),
        "reason": removal.get("kept_input_reason", ""),
        "wall_s": round(wall, 1),
        "steps": metrics.get("steps"),
    }


def evaluate_set(index: int, group: list[Case], args: argparse.Namespace) -> dict:
    made = [composite(case) for case in group]
    folder = args.out / "multi" / f"set{index}"
    paths = []
    for i, item in enumerate(made, 1):
        write_png(folder / f"input{i}.png", item["image"])
        paths.append(quoted(folder / f"input{i}.png"))
    box = made[0]["box"]  # one place in every photo
    overrides = ["task=watermark_multi", f"data.images=[{','.join(paths)}]", "data.gt=null"]
    if args.multi_box == "given":
        overrides.append(f"task.bbox=[{','.join(map(str, box))}]")
    elif args.multi_box == "auto":
        overrides.append("task.bbox=auto")
    overrides += [f"seed={args.seed}", *args.multi_overrides]
    metrics, wall = run(overrides, args.out / "runs" / f"multi{index}")
    images = []
    for i, item in enumerate(made, 1):
        result = read_image(args.out / "runs" / f"multi{index}" / "layers" / f"clean_{i}.png")
        image, clean = to_tensor(item["image"]), to_tensor(item["clean"])
        estimates = {"input": image, "dipsys": result, **baselines(image, item["footprint"])}
        figures = {name: in_box(x, clean, box) for name, x in estimates.items()}
        images.append({"photo": group[i - 1].photo.stem, "figures": figures})
    logo = f"{group[0].logo.stem} ×{group[0].scale:g} opacity {group[0].opacity:g}"
    removal = metrics.get("removal") or {}
    return {
        "set": index,
        "logo": logo,
        "box": box,
        "true_opacity": round(float(made[0]["alpha"].max()), 4),
        "images": images,
        "kept_input": removal.get("kept_input", metrics.get("kept_input", False)),
        "removal": removal,
        "wall_s": round(wall, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=Path, default=DEVDATA / "photos")
    parser.add_argument("--logos", type=Path, default=DEVDATA / "logos")
    parser.add_argument("--cases", type=int, default=12)
    parser.add_argument("--first", type=int, default=0, help="skip the first N cases")
    parser.add_argument("--sets", type=int, default=3, help="watermark_multi sets of 3 photos")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--inverted-logos",
        action="store_true",
        help="each logo's colour inverted (the white logos turned dark), one photo and sets",
    )
    parser.add_argument("--overrides", nargs="*", default=[], help="for task=watermark")
    parser.add_argument("--multi-overrides", nargs="*", default=[], help="for watermark_multi")
    parser.add_argument(
        "--multi-box",
        choices=["given", "auto", "none"],
        default="given",
        help="watermark_multi's task.bbox: the true box, auto (found by the task) or none",
    )
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "outputs" / "evaluate_watermark")
    parser.add_argument("--doc", type=Path, default=None, help="default: <out>/report.md")
    args = parser.parse_args()
    torch.set_num_threads(1)
    photos = sorted(args.photos.glob("*.[jp][pn]g"), key=lambda p: p.stem)
    logos = sorted(args.logos.glob("*.png"), key=lambda p: p.stem)
    if not photos or not logos:
        raise SystemExit(f"error: no photos in {args.photos} or no logos in {args.logos}")
    count = args.first + args.cases
    cases = single_cases(photos, logos, count, inverted=args.inverted_logos)[args.first :]
    single, multi = [], []
    for case in cases:
        single.append(evaluate_single(case, args))
        f = single[-1]["figures"]
        print(
            f"{case.name}: input {f['input']['psnr']:.2f}  dipsys {f['dipsys']['psnr']:.2f}  "
            f"telea {f['inpaint_telea']['psnr']:.2f}  ns {f['inpaint_ns']['psnr']:.2f}  "
            f"kept {single[-1]['kept_input']}  {single[-1]['wall_s']} s",
            flush=True,
        )
    for index, group in enumerate(multi_sets(photos, logos, args.sets, args.inverted_logos)):
        multi.append(evaluate_set(index, group, args))
        for item in multi[-1]["images"]:
            print(
                f"set {index} {item['photo']}: input {item['figures']['input']['psnr']:.2f}  "
                f"dipsys {item['figures']['dipsys']['psnr']:.2f}  "
                f"telea {item['figures']['inpaint_telea']['psnr']:.2f}  "
                f"kept {multi[-1]['kept_input']}  {multi[-1]['wall_s']} s",
                flush=True,
            )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps({"single": single, "multi": multi}, indent=2))
    args.doc = args.doc or args.out / "report.md"
    args.doc.parent.mkdir(parents=True, exist_ok=True)
    args.doc.write_text(report(single, multi, " ".join(sys.argv[1:])))
    print(f"wrote {args.doc}")


if __name__ == "__main__":
    main()
