"""Variance over seeds of every shipped task on its bundled sample (which has ground truth).

    python scripts/seed_variance.py --seeds 0 1 2                  # every task, its defaults
    python scripts/seed_variance.py --seeds 0 1 2 --steps 300 --max-side 64
    python scripts/seed_variance.py --tasks dehaze watermark --seeds 0 1 2 3 4

Each task of ``conf/task/`` runs with its default data (the bundled sample and its ground truth)
once per seed through ``dipsys.run.train`` (override ``seed=<s>``). ``--steps N`` sets the step
budget: ``trainer.max_steps`` for a task, a system's own keys for a system
(``dehaze_iterative``: two stages of N/3 and 2N/3 steps; ``segmentation_3layer_system``: N steps
for each of its three pairwise runs). ``--max-side`` sets ``data.max_side`` (a task's
``data.min_side`` still wins). Prints one markdown row per task: its figures against ground
truth from ``metrics.json`` (``psnr``, ``psnr2``, ``psnr_box``, ``iou``: whichever it reports),
mean ± std over the seeds and the worst seed, the working size (W×H) and the wall time of one
run (mean over seeds); writes ``<out>/results.json`` and ``<out>/report.md``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from evaluate import TaskSpec, budget_overrides  # noqa: E402
from evaluation_report import mean_std  # noqa: E402

from dipsys.config import REPO_ROOT, compose_config  # noqa: E402
from dipsys.run import train  # noqa: E402

#: the figures against ground truth a task may report, in the order the table shows them
FIGURES = ("psnr", "psnr2", "psnr_box", "iou")
#: systems, whose stages have their own step keys (trainer.max_steps does not apply to them)
SYSTEM_BUDGETS = {
    "dehaze_iterative": ("task.steps=[{third},{rest}]",),
    "segmentation_3layer_system": ("task.steps={n}",),
}
#: how the steps column reads for a system ({n}, {third}, {rest} as in the budget)
SYSTEM_STEPS = {"dehaze_iterative": "{third}+{rest}", "segmentation_3layer_system": "3×{n}"}


def shipped_tasks() -> list[str]:
    return sorted(path.stem for path in (REPO_ROOT / "conf" / "task").glob("*.yaml"))


def overrides(task: str, seed: int, steps: int | None, max_side: int | None) -> list[str]:
    """The Hydra overrides of one run: the task, its seed, and the cheaper settings if given."""
    items = [f"task={task}", f"seed={seed}", "trainer.enable_progress_bar=false"]
    if steps is not None:
        budget = SYSTEM_BUDGETS.get(task, ("trainer.max_steps={n}",))
        items += budget_overrides(TaskSpec("bundled", (), budget), steps)
    if max_side is not None:
        items.append(f"data.max_side={max_side}")
    return items


def steps_label(task: str, steps: int | None, metrics: dict) -> str:
    """The steps a run took, as the table shows them (a system: per stage or per run)."""
    if steps is None or task not in SYSTEM_STEPS:
        return str(metrics.get("steps", steps))
    third = max(1, steps // 3)
    return SYSTEM_STEPS[task].format(n=steps, third=third, rest=max(1, steps - third))


def run(task: str, seed: int, args: argparse.Namespace) -> dict:
    out = args.out / "runs" / task / f"seed{seed}"
    shutil.rmtree(out, ignore_errors=True)  # a re-run starts clean (events, checkpoints)
    cfg = compose_config(overrides(task, seed, args.steps, args.max_side), output_dir=out)
    start = time.perf_counter()
    metrics = train(cfg)
    metrics["total_wall_s"] = round(time.perf_counter() - start, 3)
    return metrics


def row(task: str, runs: list[dict], steps: int | None) -> str:
    """One markdown row: the task's figures, mean ± std over seeds, the worst seed, wall time."""
    figures = [key for key in FIGURES if all(key in r["metrics"] for r in runs)]
    values = {key: [float(r["metrics"][key]) for r in runs] for key in figures}
    walls = [r["metrics"]["total_wall_s"] for r in runs]
    size = runs[0]["metrics"].get("working_size")
    cells = [
        task,
        steps_label(task, steps, runs[0]["metrics"]),
        f"{size[1]}×{size[0]}" if size else "–",
        " / ".join(figures) or "–",
        " / ".join(mean_std(values[key]) for key in figures) or "–",
        " / ".join(f"{min(values[key]):.3f}" for key in figures) or "–",
        f"{sum(walls) / len(walls):.0f}",
    ]
    return "| " + " | ".join(cells) + " |"


def table(results: list[dict], steps: int | None) -> str:
    lines = [
        "| task | steps | working size | figure | mean ± std | min | wall per run (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    tasks = list(dict.fromkeys(r["task"] for r in results))
    for task in tasks:
        lines.append(row(task, [r for r in results if r["task"] == task], steps))
    return "\n".join(lines) + "\n"


def command_line(args: argparse.Namespace) -> str:
    parts = ["python scripts/seed_variance.py"]
    if args.tasks != shipped_tasks():
        parts.append("--tasks " + " ".join(args.tasks))
    parts.append("--seeds " + " ".join(map(str, args.seeds)))
    if args.steps is not None:
        parts.append(f"--steps {args.steps}")
    if args.max_side is not None:
        parts.append(f"--max-side {args.max_side}")
    return " ".join(parts)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    tasks = shipped_tasks()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=tasks, choices=tasks)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--steps", type=int, help="step budget (default: each task's own)")
    parser.add_argument("--max-side", type=int, help="data.max_side (default: each task's own)")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "outputs" / "seed_variance")
    args = parser.parse_args(argv)
    if args.steps is not None and args.steps < 2:
        parser.error("--steps must be at least 2 (a 2-stage system needs one per stage)")
    if len(set(args.seeds)) != len(args.seeds):
        parser.error("--seeds must be distinct")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    results = []
    start = time.perf_counter()
    for task in args.tasks:
        for seed in args.seeds:
            metrics = run(task, seed, args)
            results.append({"task": task, "seed": seed, "metrics": metrics})
            figures = " ".join(f"{k} {metrics[k]:.3f}" for k in FIGURES if k in metrics)
            print(f"{task} seed={seed}: {figures} ({metrics['total_wall_s']:.0f} s)", flush=True)
    total = time.perf_counter() - start
    report = (
        f"Seeds {args.seeds}; steps: {args.steps or 'each task’s default'}; data.max_side: "
        f"{args.max_side or 'each task’s default'}; {total / 60:.1f} min in all. "
        f"Produced by `{command_line(args)}`.\n\n" + table(results, args.steps)
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.md").write_text("# dipsys: variance over seeds\n\n" + report)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(report)


if __name__ == "__main__":
    main()
