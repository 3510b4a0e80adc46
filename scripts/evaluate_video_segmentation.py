"""Video segmentation with automatic hints on clips made from real photos: IoU per clip.

    python scripts/evaluate_video_segmentation.py ../shared/devdata/segmentation
    python scripts/evaluate_video_segmentation.py ROOT --clips 6 --only baselines

``ROOT`` holds ``<set>/images/`` (the real photos; their masks are not used). Each clip is made
in code: a blob-shaped patch cut from one photo moves along a smooth path over another photo
(:func:`dipsys.data.synthetic.video.moving_object_video`), with a still camera for even clip
numbers and a camera panning across the second photo for odd ones
(:func:`~dipsys.data.synthetic.video.panning_video`, travel 30% of the width). A pan is turned
so that the scene moves against the object's path: an object the camera follows stays still
against the frame and moves only as much as the pan, a case motion cannot separate (see
docs/results_segmentation.md). The frames and the true masks are written under the output
folder; the photos themselves are read by path and never copied elsewhere.

For each clip: dipsys (``task=video_segmentation`` with no hint given, so its hints come from
motion, and ``data.gt_mask`` so the IoU is the one metrics.json reports), and beside it, with
the same motion hints, seeded GrabCut per frame and the full-resolution refinement alone
(:func:`dipsys.ops.refine.refine_probability`, prior ½). Writes
``outputs/evaluation_video_segmentation/<label>/`` (``results.json``, ``report.md``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from dipsys.config import REPO_ROOT  # noqa: E402
from dipsys.data.io import read_image  # noqa: E402
from dipsys.data.synthetic.video import moving_object_video, panning_video  # noqa: E402
from dipsys.data.video_io import write_frames  # noqa: E402
from dipsys.ops.grabcut import grabcut  # noqa: E402
from dipsys.ops.labels import binary_iou  # noqa: E402
from dipsys.ops.motion import motion_hints  # noqa: E402
from dipsys.ops.refine import refine_probability  # noqa: E402
from scripts.case_run import mean_min, run_case  # noqa: E402

FRAMES, SIZE, TRAVEL = 12, (120, 160), 0.3


def photos(root: Path) -> list[tuple[str, Path]]:
    """``(set/stem, path)`` of every photo under ``root/<set>/images``, sorted."""
    found = []
    for images in sorted(root.glob("*/images")):
        for path in sorted(images.iterdir()):
            if path.suffix.lower() in (".jpg", ".jpeg", ".png", ".bmp"):
                found.append((f"{images.parent.name}/{path.stem}", path))
    return found


def _centre_x(mask: torch.Tensor) -> float:
    columns = mask.sum(dim=(0, 1))
    return float((columns * torch.arange(columns.numel())).sum() / columns.sum().clamp_min(1))


def make_clip(foreground: torch.Tensor, background: torch.Tensor, index: int) -> dict:
    """Clip ``index``: still camera when even, panning against the object's path when odd.

    Shape:
        - returns ``frames`` (T, 3, H, W) and ``masks`` (T, 1, H, W)
    """
    clip = moving_object_video(foreground, background, frames=FRAMES, size=SIZE, seed=index)
    frames, masks = clip["frames"], clip["masks"]
    if index % 2 == 1:
        pan = panning_video(background, frames=FRAMES, size=SIZE, travel=TRAVEL, seed=index)
        # the scene's content moves left when the window moves right; turn it against the object
        object_right = _centre_x(masks[-1, 0]) > _centre_x(masks[0, 0])
        content_right = _content_moves_right(pan)
        if object_right == content_right:
            pan = pan.flip(0)
        frames = masks * frames + (1 - masks) * pan
    return {"frames": frames.clamp(0, 1), "masks": masks, "camera": "pan" if index % 2 else "still"}


def _content_moves_right(pan: torch.Tensor) -> bool:
    """Whether the scene's content moves right from the first to the last frame."""
    first, last = pan[0].mean(0), pan[-1].mean(0)
    width = first.shape[-1]
    errors = {}
    for shift in range(-width // 2, width // 2 + 1):
        if shift >= 0:
            errors[shift] = float((last[:, shift:] - first[:, : width - shift]).abs().mean())
        else:
            errors[shift] = float((last[:, :shift] - first[:, -shift:]).abs().mean())
    return min(errors, key=errors.get) > 0


def baselines(frames: torch.Tensor, masks: torch.Tensor) -> dict:
    """Motion hints' own IoU with GrabCut and the refinement alone, per frame (means)."""
    hints = motion_hints(frames)
    if hints is None:
        return {"motion": False}
    grab, alone = [], []
    for t in range(frames.shape[0]):
        frame_hints = {"fg": hints["fg"][t], "bg": hints["bg"][t]}
        truth = masks[t, 0] > 0.5
        grab.append(binary_iou(grabcut(frames[t], frame_hints, seed=0) == 0, truth))
        prior = torch.full_like(masks[t], 0.5)
        cut = refine_probability(frames[t], prior, hints["fg"][t], hints["bg"][t])
        alone.append(binary_iou(cut[0] > 0.5, truth))
    return {
        "motion": True,
        "grabcut": statistics.mean(grab),
        "refine_alone": statistics.mean(alone),
    }


def run_dipsys(folder: Path, extra: list[str], out: Path) -> dict:
    overrides = [
        "task=video_segmentation",
        f"data.video='{folder / 'frames'}'",
        f"data.gt_mask='{folder / 'masks'}'",
        *extra,
    ]
    return run_case(overrides, out)


def report(results: list[dict], label: str) -> str:
    lines = [
        f"# Video segmentation, automatic (motion) hints: {label}\n",
        "| clip | camera | dipsys | refinement alone | GrabCut | dipsys wall (s) |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        dip = f"{r['dipsys']:.3f}" if "dipsys" in r else "–"
        wall = f"{r['wall_s']:.0f}" if "wall_s" in r else "–"
        alone = f"{r['refine_alone']:.3f}" if r.get("motion") else "no motion"
        grab = f"{r['grabcut']:.3f}" if r.get("motion") else "–"
        lines.append(f"| {r['name']} | {r['camera']} | {dip} | {alone} | {grab} | {wall} |")
    column = {k: [r[k] for r in results if k in r] for k in ("dipsys", "refine_alone", "grabcut")}
    lines.append(
        f"| **mean (min)** | | {mean_min(column['dipsys'])} | {mean_min(column['refine_alone'])} "
        f"| {mean_min(column['grabcut'])} | |"
    )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="folder of <set>/images/")
    parser.add_argument("--clips", type=int, default=6)
    parser.add_argument("--only", choices=["all", "baselines"], default="all")
    parser.add_argument("--label", default="default")
    parser.add_argument("--set", nargs="*", default=[], help="extra Hydra overrides for dipsys")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "outputs")
    args = parser.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    found = photos(args.root)
    if len(found) < 2:
        sys.exit(f"error: fewer than two photos under {args.root}/<set>/images")
    out = args.out / "evaluation_video_segmentation" / args.label
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for index in range(args.clips):
        (fg_name, fg_path), (bg_name, bg_path) = (
            found[(3 * index + 1) % len(found)],
            found[(5 * index + 7) % len(found)],
        )
        clip = make_clip(read_image(fg_path)[:3], read_image(bg_path)[:3], index)
        name = f"{index:02d}_{fg_name.replace('/', '-')}_over_{bg_name.replace('/', '-')}"
        folder = out / "clips" / name
        write_frames(folder / "frames", clip["frames"])
        write_frames(folder / "masks", clip["masks"])
        row = {"name": name, "camera": clip["camera"], **baselines(clip["frames"], clip["masks"])}
        if args.only == "all":
            metrics = run_dipsys(folder, args.set, out / "runs" / name)
            row["dipsys"], row["wall_s"] = metrics["iou"], metrics["total_wall_s"]
            row["hint_source"] = metrics.get("hint_source")
        print(json.dumps(row), flush=True)
        results.append(row)
        (out / "results.json").write_text(json.dumps(results, indent=1))
    (out / "report.md").write_text(report(results, args.label))
    print(report(results, args.label))


if __name__ == "__main__":
    main()
