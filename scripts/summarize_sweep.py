"""Summarise a Hydra multirun: every job's metrics.json in one table, and a plot.

    python scripts/summarize_sweep.py outputs/multirun/dehaze_iterative/<date> [--out DIR]

Writes ``summary.md``, ``summary.csv`` and ``summary.png`` (PSNR and SSIM against total steps,
one line per number of stages) into the multirun folder (or ``--out``), and prints the table.
Without ground truth the plot shows the reconstruction PSNR instead (of the last stage against
its own input, so it does not rank schedules with different stage counts).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLUMNS = ("job", "stages", "schedule", "total_steps", "psnr", "ssim", "psnr_recon", "wall_s")


def read_jobs(sweep_dir: Path) -> list[dict]:
    """One row per job folder holding a metrics.json (sorted by job number)."""
    rows = []
    for path in sorted(sweep_dir.glob("*/metrics.json"), key=lambda p: _job_key(p.parent.name)):
        metrics = json.loads(path.read_text())
        stages = metrics.get("stages") or [metrics]
        rows.append(
            {
                "job": path.parent.name,
                "stages": len(stages),
                "schedule": "→".join(str(s["steps"]) for s in stages),
                "total_steps": sum(s["steps"] for s in stages),
                "psnr": metrics.get("psnr"),
                "ssim": metrics.get("ssim"),
                "psnr_recon": metrics.get("psnr_recon"),
                "wall_s": metrics.get("wall_s"),
            }
        )
    return rows


def _job_key(name: str) -> tuple[int, str]:
    return (int(name), "") if name.isdigit() else (sys.maxsize, name)


def _cell(value) -> str:
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def markdown(rows: list[dict]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_cell(row[c]) for c in COLUMNS) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path) -> None:
    has_gt = all(row["psnr"] is not None for row in rows)
    panels = [("psnr", "PSNR (dB)"), ("ssim", "SSIM")] if has_gt else [("psnr_recon", "PSNR recon")]
    fig, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 4), squeeze=False)
    by_stages = defaultdict(list)
    for row in rows:
        by_stages[row["stages"]].append(row)
    for ax, (key, label) in zip(axes[0], panels, strict=True):
        for stages, group in sorted(by_stages.items()):
            group = sorted(group, key=lambda r: r["total_steps"])
            xs = [r["total_steps"] for r in group]
            ax.plot(xs, [r[key] for r in group], marker="o", label=f"{stages} stage(s)")
        ax.set_xlabel("total steps")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path, help="a Hydra multirun folder")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: it)")
    args = parser.parse_args()
    rows = read_jobs(args.sweep_dir)
    if not rows:
        sys.exit(f"error: no */metrics.json under {args.sweep_dir}")
    out = args.out or args.sweep_dir
    out.mkdir(parents=True, exist_ok=True)
    table = markdown(rows)
    (out / "summary.md").write_text(table)
    with open(out / "summary.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, out / "summary.png")
    print(table)
    if all(r["psnr"] is not None for r in rows):
        best = max(rows, key=lambda r: r["psnr"])
        print(f"best by PSNR: job {best['job']} ({best['schedule']}) {best['psnr']:.3f}")
    else:  # the last stage's reconstruction PSNR does not compare across stage counts
        print("no ground truth (data.gt) in every job: no ranking")
    print(f"wrote {out / 'summary.md'}, summary.csv, summary.png")


if __name__ == "__main__":
    main()
