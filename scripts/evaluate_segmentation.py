"""Segmentation quality on synthetic composites with known masks: IoU of each task and GrabCut's.

    python scripts/evaluate_segmentation.py                      # every task, both hint sources
    python scripts/evaluate_segmentation.py --tasks segmentation --hints auto --cases 3 --steps 600

Cases are made in code from the bundled CC0 / public-domain textures (brick, gravel, grass,
tinted apart at random): two-region composites (a random blob over a background) for
``segmentation``, three-region tilings for ``segmentation_nlayer`` (K = 3) and
``segmentation_3layer_system``. Hints are either ``auto`` (the task's automatic hints, nothing
from the ground truth) or ``gt`` (user-like hints: the ground-truth regions eroded by 8% of the
image side, as a person would scribble well inside each region). Each run goes through
``dipsys.run.train`` with ``data.gt_mask``, so the IoU and GrabCut's IoU (same hints) are the
ones ``metrics.json`` reports. Writes ``outputs/evaluation_segmentation/`` (cases, runs,
``results.json``, ``report.md``) and prints the markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from dipsys.config import REPO_ROOT  # noqa: E402
from dipsys.data.io import write_image  # noqa: E402
from dipsys.data.synthetic import (  # noqa: E402
    colorize,
    fg_bg_composite,
    load_sample,
    region_composite,  # noqa: E402
)
from dipsys.ops.hints import hint_names  # noqa: E402
from scripts.case_run import run_case  # noqa: E402

#: task → number of regions of its cases
TASKS = {"segmentation": 2, "segmentation_nlayer": 3, "segmentation_3layer_system": 3}
TEXTURES = ("brick", "gravel", "grass")


def _tints(gen: torch.Generator, count: int) -> list[tuple[float, float, float]]:
    """``count`` tints with hues spread around the wheel from a random start."""
    start = float(torch.rand((), generator=gen))
    tints = []
    for index in range(count):
        hue = (start + index / count) % 1.0
        hsv = np.uint8([[[round(hue * 179), 150, 230]]])
        rgb = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0] / 255.0
        tints.append(tuple(float(c) for c in rgb))
    return tints


def make_case(regions: int, seed: int, size: tuple[int, int]) -> dict[str, torch.Tensor]:
    """A composite of ``regions`` tinted textures, its labels (gray levels) and GT hints."""
    gen = torch.Generator().manual_seed(1000 + seed)
    order = torch.randperm(len(TEXTURES), generator=gen).tolist()
    tints = _tints(gen, regions)
    layers = [
        colorize(load_sample(TEXTURES[order[k % len(TEXTURES)]]), tints[k]) for k in range(regions)
    ]
    if regions == 2:
        case = fg_bg_composite(layers[0], layers[1], seed=seed, size=size)
        labels = (case["mask"][0] < 0.5).long()  # label 0 = foreground
        gray = case["mask"]
    else:
        case = region_composite(layers, seed=seed, size=size)
        labels = case["labels"][0]
        gray = labels[None].float() / (regions - 1)
    radius = max(1, round(0.08 * min(size)))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2)
    hints = {}
    for k, name in enumerate(hint_names(regions)):
        region = (labels == k).numpy().astype(np.uint8)
        hints[name] = torch.from_numpy(cv2.erode(region, kernel).astype(np.float32))[None]
    return {"image": case["image"], "gray": gray, "hints": hints}


def run(task: str, paths: dict, hints: str, steps: int, seed: int, out: Path) -> dict:
    overrides = [
        f"task={task}",
        f"data.image='{paths['image']}'",
        f"data.gt_mask='{paths['gray']}'",
        f"seed={seed}",
    ]
    overrides.append(
        f"task.steps={steps}"
        if task == "segmentation_3layer_system"
        else f"trainer.max_steps={steps}"
    )
    if hints == "gt":
        overrides += [f"data.hints.{name}='{path}'" for name, path in paths["hints"].items()]
    return run_case(overrides, out)


def mean_std(values: list[float]) -> str:
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {spread:.3f}"


def report(results: list[dict]) -> str:
    rows: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for r in results:
        row = rows[(r["task"], r["hints"])]
        row["iou"].append(r["metrics"]["iou"])
        row["grabcut"].append(r["metrics"]["baselines"]["grabcut"]["iou"])
        row["wall"].append(r["metrics"]["total_wall_s"])
        row["steps"].append(r["metrics"]["steps"])
    lines = [
        "| task | hints | cases | steps | IoU (dipsys) | IoU (GrabCut, same hints) | wall (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for (task, hints), row in sorted(rows.items()):
        lines.append(
            f"| {task} | {hints} | {len(row['iou'])} | {int(statistics.mean(row['steps']))} | "
            f"{mean_std(row['iou'])} | {mean_std(row['grabcut'])} | {mean_std(row['wall'])} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--hints", nargs="+", default=["auto", "gt"], choices=["auto", "gt"])
    parser.add_argument("--cases", type=int, default=3, help="composites per region count")
    parser.add_argument("--steps", type=int, default=1200, help="steps per run (per pair run)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, nargs=2, default=[192, 256], metavar=("H", "W"))
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "outputs/evaluation_segmentation")
    args = parser.parse_args()
    os.environ.setdefault("DIPSYS_ROOT", str(REPO_ROOT))
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    for task in args.tasks:
        regions = TASKS[task]
        for index in range(args.cases):
            case = make_case(regions, index, tuple(args.size))
            folder = args.out / "cases" / f"{regions}regions_{index}"
            paths = {"image": folder / "image.png", "gray": folder / "labels.png", "hints": {}}
            write_image(paths["image"], case["image"])
            write_image(paths["gray"], case["gray"])
            for name, hint in case["hints"].items():
                paths["hints"][name] = folder / f"hint_{name}.png"
                write_image(paths["hints"][name], hint)
            for hints in args.hints:
                out = args.out / "runs" / f"{task}_{hints}_{index}"
                metrics = run(task, paths, hints, args.steps, args.seed, out)
                metrics.pop("stages", None)
                results.append({"task": task, "hints": hints, "case": index, "metrics": metrics})
                print(
                    f"{task} hints={hints} case={index}: IoU {metrics['iou']:.4f} "
                    f"(GrabCut {metrics['baselines']['grabcut']['iou']:.4f}), "
                    f"{metrics['total_wall_s']:.0f} s",
                    flush=True,
                )
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    table = report(results)
    (args.out / "report.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
