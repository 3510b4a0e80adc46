"""Segmentation on real photos with ground-truth masks: IoU per image, mean and min.

    python scripts/evaluate_segmentation_real.py ../shared/devdata/segmentation
    python scripts/evaluate_segmentation_real.py ROOT --hints gt --only grabcut
    python scripts/evaluate_segmentation_real.py ROOT --hints auto --set data.max_side=192

``ROOT`` holds ``<set>/images/`` and ``<set>/gt/`` folders; an image and its mask share a file
stem. Masks are binarised at 128 (graded or soft masks: the pixels most annotators marked).
Two hint sources:

- ``gt``: hints derived from the ground truth as a user would draw them. With
  ``k = max(3, min(H, W) // 12)``, ``fg`` is the mask eroded twice by a k×k square (while that
  keeps < 25% of the object, k is halved and the mask eroded once by the smaller square) and
  ``bg`` everything outside the mask dilated twice by the k×k square.
- ``auto``: the task's automatic hints (nothing from the ground truth).

Each case runs ``dipsys.run.train`` with ``data.gt_mask`` so the IoU is the one ``metrics.json``
reports; seeded GrabCut (5 iterations, ``GC_INIT_WITH_MASK``, the same hints) is computed beside
it, and the full-resolution refinement alone (:func:`dipsys.ops.refine.refine_probability`
with the same hints and an uninformative prior of ½: what the hints, the colour model and the
image edges give without the DIP). ``--only baselines`` skips dipsys. Writes
``outputs/evaluation_segmentation_real/<label>/`` (``results.json``, ``report.md``); the photos
are read by path and never copied elsewhere.

A task that exports a label map of three or more layers (``segmentation_3layer_system``,
``segmentation_nlayer`` with ``task.layers=3``) is scored against the two-label truth in two
ways: ``iou`` is its foreground label (``layers/mask.png``, label 0: the layer the fg hint
names) against the object, with no choice made from the truth; ``iou_best_merge`` is the best
of the ways to call a set of its labels the object (chosen with the truth: an upper bound).

``--rescore LABEL...`` trains nothing: it re-applies the shipped refinement (``task.refine*``)
to the best masks kept in earlier runs' checkpoints (``<out>/<LABEL>/runs/*/checkpoints``), as
the task's export does, so a change of refinement is measured without refitting the DIPs.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from dipsys.config import REPO_ROOT, compose_config  # noqa: E402
from dipsys.data.hints import resolve_hints  # noqa: E402
from dipsys.data.io import read_image, read_mask, write_image  # noqa: E402
from dipsys.ops.grabcut import grabcut  # noqa: E402
from dipsys.ops.labels import binary_iou, labels_from_gray  # noqa: E402
from dipsys.ops.refine import refine_probability  # noqa: E402
from dipsys.ops.resize import resize  # noqa: E402
from scripts.case_run import mean_min, run_case  # noqa: E402

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff")


def find_pairs(root: Path) -> list[tuple[str, Path, Path]]:
    """``(name, image, mask)`` for every image under ``root/<set>/images`` with a mask in gt/."""
    pairs = []
    for images in sorted(root.glob("*/images")):
        masks = {p.stem: p for p in (images.parent / "gt").iterdir()}
        for image in sorted(images.iterdir()):
            if image.suffix.lower() in IMAGE_SUFFIXES and image.stem in masks:
                name = f"{images.parent.name}/{image.stem}"
                pairs.append((name, image, masks[image.stem]))
    return pairs


def gt_hints(mask: np.ndarray) -> dict[str, np.ndarray]:
    """The protocol's user-like hints from a binary mask (see the module docstring).

    Shape:
        - mask: ``(H, W)`` bool; each hint ``(H, W)`` bool
    """
    k = max(3, min(mask.shape) // 12)
    square = np.ones((k, k), np.uint8)
    region = mask.astype(np.uint8)
    fg = cv2.erode(region, square, iterations=2)
    size = k
    while fg.sum() < 0.25 * region.sum() and size > 1:
        size //= 2
        fg = cv2.erode(region, np.ones((max(size, 1),) * 2, np.uint8), iterations=1)
    bg = cv2.dilate(region, square, iterations=2) == 0
    return {"fg": fg > 0, "bg": bg}


def prepare(name: str, image_path: Path, mask_path: Path, hints: str, folder: Path) -> dict:
    """Write the case's image, binary mask and hints (gt or automatic) under ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    image = read_image(image_path)[:3]
    truth = read_mask(mask_path)[0] >= 128 / 255
    paths = {"image": folder / "image.png", "gt": folder / "gt.png"}
    write_image(paths["image"], image)
    write_image(paths["gt"], truth[None].float())
    if hints == "gt":
        made = {k: torch.from_numpy(v)[None].float() for k, v in gt_hints(truth.numpy()).items()}
    else:
        made = resolve_hints(image, layers=2, method="auto")
    for key, hint in made.items():
        paths[f"hint_{key}"] = folder / f"hint_{key}.png"
        write_image(paths[f"hint_{key}"], hint)
    paths["_image"], paths["_truth"], paths["_hints"] = image, truth, made
    return paths


def run_dipsys(task: str, paths: dict, hints: str, extra: list[str], out: Path) -> dict:
    overrides = [
        f"task={task}",
        f"data.image='{paths['image']}'",
        f"data.gt_mask='{paths['gt']}'",
        *(f"data.hints.{k}='{paths[f'hint_{k}']}'" for k in ("fg", "bg") if hints == "gt"),
        *extra,
    ]
    return run_case(overrides, out)


def label_scores(run: Path, truth: torch.Tensor) -> dict[str, float] | None:
    """The fg-label IoU and the best-merge IoU of a run's K-label map (module docstring).

    None when the run exported no label map (a two-layer task).

    Shape:
        - truth: ``(H, W)`` bool
    """
    labels_path = run / "layers" / "labels.png"
    if not labels_path.is_file():
        return None
    labels = labels_from_gray(read_mask(labels_path))
    count = int(labels.max()) + 1
    merges = [
        binary_iou(torch.isin(labels, torch.tensor(subset)), truth)
        for size in range(1, count)
        for subset in itertools.combinations(range(count), size)
    ]
    fg = read_mask(run / "layers" / "mask.png")[0] > 0.5
    return {"iou": round(binary_iou(fg, truth), 4), "iou_best_merge": round(max(merges), 4)}


def report(results: list[dict], label: str) -> str:
    merged = any("iou_best_merge" in r for r in results)
    extra = " IoU (best merge of labels, chosen with the truth) |" if merged else ""
    lines = [
        f"### {label}",
        "",
        f"| image | IoU (dipsys) |{extra} IoU (GrabCut, same hints) | IoU (refinement alone) "
        "| wall (s) |",
        "|---|---|---|---|---|" + ("---|" if merged else ""),
    ]

    def cell(r: dict, key: str, digits: int = 3) -> str:
        return f"{r[key]:.{digits}f}" if r.get(key) is not None else "–"

    for r in results:
        best = f" {cell(r, 'iou_best_merge')} |" if merged else ""
        lines.append(
            f"| {r['name']} | {cell(r, 'iou')} |{best} {r['grabcut']:.3f} "
            f"| {r['refine_alone']:.3f} | {cell(r, 'wall_s', 0)} |"
        )

    def column(key: str) -> list[float]:
        return [r[key] for r in results if r.get(key) is not None]

    walls = column("wall_s")
    wall = f"{statistics.mean(walls):.0f}" if walls else "–"
    best = f" {mean_min(column('iou_best_merge'))} |" if merged else ""
    lines.append(
        f"| **mean (min)** | **{mean_min(column('iou'))}** |{best} {mean_min(column('grabcut'))} "
        f"| {mean_min(column('refine_alone'))} | {wall} |"
    )
    return "\n".join(lines) + "\n"


def rescore(root: Path, labels: list[str], out: Path, extra: list[str]) -> None:
    """IoU of the shipped refinement on the best masks of earlier runs (module docstring)."""
    options = compose_config(["task=segmentation", *extra]).task.module.refine_options
    results = []
    for label in labels:
        for run in sorted((root / label / "runs").glob("*/checkpoints/last.ckpt")):
            if not (run.parents[1] / "metrics.json").is_file():
                continue  # a run still in progress
            case = run.parents[2].parent / "cases" / run.parents[1].name
            image = read_image(case / "image.png")
            truth = read_mask(case / "gt.png")[0] > 0.5
            hints = {k: read_mask(case / f"hint_{k}.png") for k in ("fg", "bg")}
            best = torch.load(run, map_location="cpu", weights_only=False)["dipsys_best"]
            prior = resize(best["mask"], tuple(image.shape[-2:]), mode="bilinear")[0].clamp(0, 1)
            refined = refine_probability(image, prior, hints["fg"], hints["bg"], **options)
            metrics = json.loads((run.parents[1] / "metrics.json").read_text())
            row = {
                "name": run.parents[1].name,
                "iou": round(binary_iou(refined[0] > 0.5, truth), 4),
                "iou_run": metrics["iou"],
                "iou_unrefined": round(binary_iou(prior[0] > 0.5, truth), 4),
                "wall_s": metrics.get("wall_s"),
            }
            results.append(row)
            print(json.dumps(row), flush=True)
    out.mkdir(parents=True, exist_ok=True)
    (out / "rescored.json").write_text(json.dumps(results, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("root", type=Path, help="folder of <set>/{images,gt}/")
    parser.add_argument("--hints", choices=["gt", "auto"], default="gt")
    parser.add_argument("--task", default="segmentation")
    parser.add_argument("--only", choices=["all", "baselines"], default="all")
    parser.add_argument("--set", nargs="*", default=[], help="extra Hydra overrides")
    parser.add_argument("--limit", type=int, default=0, help="first N pairs only (0: all)")
    parser.add_argument("--skip", type=int, default=0, help="skip the first N pairs")
    parser.add_argument("--rescore", nargs="*", default=None, help="earlier runs to re-score")
    parser.add_argument("--label", default=None, help="output subfolder (default: hints_task)")
    parser.add_argument(
        "--out", type=Path, default=REPO_ROOT / "outputs/evaluation_segmentation_real"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    cv2.setNumThreads(1)
    os.environ.setdefault("DIPSYS_ROOT", str(REPO_ROOT))
    label = args.label or f"{args.hints}_{args.task}"
    out = args.out / label
    pairs = find_pairs(args.root)[args.skip :][: args.limit or None]
    if args.rescore is not None:
        rescore(args.out, args.rescore, out, args.set)
        return
    results = []
    for name, image_path, mask_path in pairs:
        folder = out / "cases" / name.replace("/", "_")
        paths = prepare(name, image_path, mask_path, args.hints, folder)
        cv2.setRNGSeed(0)  # GrabCut's k-means draws from OpenCV's global generator
        cut = grabcut(paths["_image"], paths["_hints"]) == 0
        alone = (
            refine_probability(
                paths["_image"],
                torch.full_like(paths["_truth"][None], 0.5, dtype=torch.float32),
                paths["_hints"]["fg"],
                paths["_hints"]["bg"],
            )[0]
            > 0.5
        )
        row = {
            "name": name,
            "grabcut": round(binary_iou(cut, paths["_truth"]), 4),
            "refine_alone": round(binary_iou(alone, paths["_truth"]), 4),
        }
        if args.only == "all":
            run = out / "runs" / name.replace("/", "_")
            metrics = run_dipsys(args.task, paths, args.hints, list(args.set), run)
            row |= {"iou": metrics["iou"], "wall_s": metrics["total_wall_s"]}
            row |= label_scores(run, paths["_truth"]) or {}
        results.append(row)
        print(json.dumps(row), flush=True)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    table = report(results, f"{label} {' '.join(args.set)}".strip())
    (out / "report.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
