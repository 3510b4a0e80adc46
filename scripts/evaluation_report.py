"""The general parts of ``scripts/evaluate.py``'s report: the table, figure strips, the curve.

The dehazing page (per-case rows, stages, airlight errors) is ``scripts/dehazing_report.py``.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from pathlib import Path

import cv2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from dipsys.config import REPO_ROOT  # noqa: E402
from dipsys.data.io import read_image, to_uint8  # noqa: E402

#: the markers around the table that ``--update-docs`` replaces in docs/results.md
README_BEGIN, README_END = "<!-- evaluate:begin -->", "<!-- evaluate:end -->"


def mean_std(values: list[float]) -> str:
    if not values:
        return "–"
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.3f} ± {spread:.3f}"


def table(results: list[dict], steps: int) -> str:
    """Markdown: one row per (method, case) and an all-cases row, at the given budget."""
    rows: dict[tuple[str, str], dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    # inputs and baselines are the same for every task: count each (case, seed) once
    references: dict[tuple[str, str, int], dict] = {}
    for r in (r for r in results if r["steps"] == steps):
        for case in (r["case"], "all"):
            row = rows[(r["task"], case)]
            for key in ("psnr", "ssim", "wall_s", "it_per_s"):
                row[key].append(r["metrics"][key])
        references[(r["case"], r["seed"])] = {
            "input": r["metrics"]["input"],
            **{f"baseline: {k}": v for k, v in r["metrics"].get("baselines", {}).items()},
        }
    for (case_name, _seed), figures in references.items():
        for method, values in figures.items():
            for case in (case_name, "all"):
                rows[(method, case)]["psnr"].append(values["psnr"])
                rows[(method, case)]["ssim"].append(values["ssim"])
    lines = [
        "| method | case | PSNR (dB) | SSIM | wall (s) | steps/s |",
        "|---|---|---|---|---|---|",
    ]
    for (method, case), row in sorted(rows.items(), key=lambda kv: (kv[0][1] == "all", kv[0])):
        cells = [mean_std(row[k]) for k in ("psnr", "ssim", "wall_s", "it_per_s")]
        lines.append(f"| {method} | {case} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def strip(case: str, paths: dict[str, Path], results: list[dict], steps: int, out: Path) -> Path:
    """input | each task's result | ground truth | each baseline, seed 0, largest budget."""
    panels = [("input", read_image(paths["input"]))]
    chosen = [r for r in results if r["case"] == case and r["steps"] == steps and r["seed"] == 0]
    for r in chosen:
        panels.append((r["task"], read_image(Path(r["run_dir"]) / "layers" / "clean.png")))
    panels.append(("ground truth", read_image(paths["gt"])))
    for name in chosen[0]["metrics"].get("baselines", {}) if chosen else ():
        baseline = Path(chosen[0]["run_dir"]) / "baselines" / f"{name}.png"
        panels.append((f"baseline: {name}", read_image(baseline)))
    tiles = []
    for label, image in panels:
        tile = np.ascontiguousarray(to_uint8(image)[..., ::-1])
        cv2.putText(tile, label, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (255, 255, 255), 2)
        tiles.append(tile)
    path = out / "figures" / f"{case}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.concatenate(tiles, axis=1))
    return path


def curve(results: list[dict], out: Path) -> Path:
    """Mean PSNR against the step budget, one line per task, baselines as dashed lines."""
    by_task: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    baselines: dict[str, list[float]] = defaultdict(list)
    for r in results:
        by_task[r["task"]][r["steps"]].append(r["metrics"]["psnr"])
        for name, figures in r["metrics"].get("baselines", {}).items():
            baselines[name].append(figures["psnr"])
    fig, ax = plt.subplots(figsize=(6, 4))
    for task, points in sorted(by_task.items()):
        xs = sorted(points)
        ax.plot(xs, [statistics.mean(points[x]) for x in xs], marker="o", label=task)
    for name, values in baselines.items():
        ax.axhline(statistics.mean(values), linestyle="--", color="gray", label=f"baseline: {name}")
    ax.set_xlabel("total steps")
    ax.set_ylabel("PSNR (dB), mean over cases and seeds")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path = out / "figures" / "metric_vs_steps.png"
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def update_readme(report: str) -> None:
    """Replace the table between the markers of docs/results.md with ``report``."""
    readme = REPO_ROOT / "docs" / "results.md"
    text = readme.read_text()
    if README_BEGIN not in text or README_END not in text:
        raise SystemExit(f"error: {readme} lacks the {README_BEGIN} … {README_END} markers")
    head, rest = text.split(README_BEGIN, 1)
    _, tail = rest.split(README_END, 1)
    readme.write_text(f"{head}{README_BEGIN}\n{report}{README_END}{tail}")
