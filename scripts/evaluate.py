"""Evaluate tasks on cases with ground truth, beside the classical baselines; write a report.

    python scripts/evaluate.py                 # the dehazing suite: 300 steps, seed 0, ~30 min
    python scripts/evaluate.py --tasks dehaze --steps 300 600 1200 --seeds 0 1 2
    python scripts/evaluate.py --suite path/to/SOTS --tasks dehaze   # hazy/ + gt/ folders
    python scripts/evaluate.py --report docs/results_dehazing.md  # also write the docs page
    python scripts/evaluate.py --update-docs                     # refresh docs/results.md's table

Cases: ``--suite generated`` (default) is the dehazing suite of
:func:`dipsys.data.synthetic.haze_suite.haze_suite` (``--cases`` synthetic views of the bundled
photographs, uniform and gradient airlights, light to dense haze, exact ground truth) plus the
bundled hazy sample; ``--suite <folder>`` reads a dataset laid out as folders
(dehazing: ``hazy/`` and ``gt/``, matched by file name, or by the name's part before the first
``_`` as in SOTS). Every task runs each case once per seed and step budget through
``dipsys.run.train``; baselines come from the task's ``baselines()`` (dark channel prior for
dehazing). Writes ``<out>/report.md`` (mean ± std over seeds at the largest budget),
``<out>/results.json``, ``<out>/figures/<case>.png`` (input | results | ground truth | baselines)
and, with several budgets, ``<out>/figures/metric_vs_steps.png``. The dehazing report adds
per-case rows, means over uniform / gradient-airlight cases, the stages each iterative run ran
and returned, and the airlight error of every estimator on ``--airlight-set`` (real hazy photos
with an annotated airlight; default ``../shared/devdata/dehazing/real_hazy_airlight`` when it
exists).
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from dehazing_report import airlight_errors, dehazing_report, synthetic_airlight_errors
from evaluation_report import curve, strip, table, update_readme

from dipsys.config import REPO_ROOT, compose_config
from dipsys.data.io import write_image
from dipsys.data.synthetic.haze_suite import haze_suite
from dipsys.data.synthetic.samples import ASSETS
from dipsys.run import train


@dataclass(frozen=True)
class TaskSpec:
    """How to run one task on a case: its kind of case and its overrides for a step budget."""

    case_kind: str
    overrides: tuple[str, ...]
    #: how a total budget of N steps becomes overrides ({n}, {third}, {rest} are filled in)
    budget: tuple[str, ...]


# Adding a task is one line here.
TASKS = {
    "dehaze": TaskSpec("haze", ("task=dehaze",), ("trainer.max_steps={n}",)),
    "dehaze_iterative": TaskSpec(
        # a third, then two thirds (growing, as the paper's schedule); a run that stops after
        # stage 0 trains on for the other two thirds (task.spend_unused), so it has them all
        "haze",
        ("task=dehaze_iterative",),
        ("task.steps=[{third},{rest}]",),
    ),
}


def dev_airlight_set() -> Path:
    """``shared/devdata/dehazing/real_hazy_airlight`` beside the checkout (or a parent of it)."""
    for folder in REPO_ROOT.parents:
        candidate = folder / "shared" / "devdata" / "dehazing" / "real_hazy_airlight"
        if candidate.is_dir():
            return candidate
    return REPO_ROOT / "missing-real-hazy-airlight-set"


def generated_cases(kind: str, folder: Path, count: int, side: int) -> dict[str, dict[str, Path]]:
    """The dehazing suite's ``count`` cases (at most ``side`` px) and the bundled hazy sample,
    written to ``folder``."""
    if kind != "haze":
        raise SystemExit(f"error: no generated cases of kind '{kind}' yet")
    cases = {}
    for name, case in haze_suite(side=side, count=count).items():
        paths = {"input": folder / f"{name}_hazy.png", "gt": folder / f"{name}_clean.png"}
        write_image(paths["input"], case["hazy"])
        write_image(paths["gt"], case["clean"])
        cases[name] = paths
    cases["sample_rocket"] = {
        "input": ASSETS / "rocket/hazy.png",
        "gt": ASSETS / "rocket/clean.png",
    }
    return cases


def folder_cases(kind: str, root: Path) -> dict[str, dict[str, Path]]:
    """A dataset laid out as folders: dehazing ``hazy/`` + ``gt/``."""
    if kind != "haze":
        raise SystemExit(f"error: no folder layout for cases of kind '{kind}' yet")
    inputs, truths = root / "hazy", root / "gt"
    if not inputs.is_dir() or not truths.is_dir():
        raise SystemExit(f"error: {root} needs hazy/ and gt/ folders")
    by_stem = {p.stem: p for p in truths.iterdir() if p.is_file()}
    cases = {}
    for path in sorted(p for p in inputs.iterdir() if p.is_file()):
        gt = by_stem.get(path.stem) or by_stem.get(path.stem.split("_")[0])
        if gt is None:
            raise SystemExit(f"error: no ground truth in {truths} for {path.name}")
        cases[path.stem] = {"input": path, "gt": gt}
    return cases


def budget_overrides(spec: TaskSpec, steps: int) -> list[str]:
    third = max(1, steps // 3)
    values = {"n": steps, "third": third, "rest": max(1, steps - third)}
    return [item.format(**values) for item in spec.budget]


def run_case(task: str, case: dict[str, Path], seed: int, steps: int, args, out: Path) -> dict:
    spec = TASKS[task]
    overrides = [
        *spec.overrides,
        *budget_overrides(spec, steps),
        f"data.image={_quoted(case['input'])}",
        f"data.gt={_quoted(case['gt'])}",
        f"data.max_side={args.max_side}",
        f"seed={seed}",
        "trainer.enable_progress_bar=false",
        *args.override,
    ]
    shutil.rmtree(out, ignore_errors=True)  # a re-run starts clean (events, checkpoints)
    cfg = compose_config(overrides, output_dir=out)
    start = time.perf_counter()
    metrics = train(cfg)
    metrics["total_wall_s"] = round(time.perf_counter() - start, 3)
    return metrics


def _quoted(path: Path) -> str:
    """A path as a quoted Hydra override value (spaces, commas, brackets are safe)."""
    return "'" + str(path).replace("\\", "\\\\").replace("'", "\\'") + "'"


def run_all(args: argparse.Namespace, kinds: set[str], out: Path) -> list[dict]:
    """Every task on every case, budget and seed; the run records; a figure strip per case."""
    results = []
    for kind in sorted(kinds):
        if args.suite == "generated":
            cases = generated_cases(kind, out / "cases", args.cases, args.max_side)
        else:
            cases = folder_cases(kind, Path(args.suite))
        for task in (t for t in args.tasks if TASKS[t].case_kind == kind):
            for case, paths in cases.items():
                for steps in args.steps:
                    for seed in args.seeds:
                        run_dir = out / "runs" / task / case / f"steps{steps}_seed{seed}"
                        metrics = run_case(task, paths, seed, steps, args, run_dir)
                        results.append(
                            {
                                "task": task,
                                "case": case,
                                "seed": seed,
                                "steps": steps,
                                "run_dir": str(run_dir),
                                "metrics": metrics,
                            }
                        )
                        print(
                            f"{task} {case} steps={steps} seed={seed}: "
                            f"PSNR {metrics['psnr']:.2f} SSIM {metrics['ssim']:.3f}"
                        )
        for case, paths in cases.items():
            strip(case, paths, results, max(args.steps), out)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--suite", default="generated", help="'generated' or a dataset folder")
    parser.add_argument("--steps", type=int, nargs="+", default=[300])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--max-side", type=int, default=128)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "outputs" / "evaluation")
    parser.add_argument(
        "--update-docs", "--update-readme", dest="update_readme", action="store_true"
    )
    parser.add_argument("--cases", type=int, default=24, help="synthetic cases (generated suite)")
    parser.add_argument("--override", nargs="*", default=[], help="Hydra overrides for every run")
    parser.add_argument("--airlight-set", type=Path, default=dev_airlight_set())
    parser.add_argument("--report", type=Path, help="also write the dehazing report here")
    parser.add_argument(
        "--from-results", action="store_true", help="re-render the reports from <out>/results.json"
    )
    args = parser.parse_args()
    if min(args.steps) < 2:
        parser.error("every step budget must be at least 2 (a 2-stage system needs one per stage)")

    out = args.out
    kinds = {TASKS[t].case_kind for t in args.tasks}
    if args.from_results:
        results = json.loads((out / "results.json").read_text())
    else:
        results = run_all(args, kinds, out)
    biggest = max(args.steps)
    command = "python scripts/evaluate.py " + " ".join(
        [
            f"--tasks {' '.join(args.tasks)}",
            f"--steps {' '.join(map(str, args.steps))}",
            f"--seeds {' '.join(map(str, args.seeds))}",
            f"--max-side {args.max_side}",
        ]
        + ([f"--suite {args.suite}"] if args.suite != "generated" else [f"--cases {args.cases}"])
        + ([f"--override {' '.join(args.override)}"] if args.override else [])
    )
    report = (
        f"Cases: {args.suite}; {biggest} steps at a working size of at most {args.max_side} px; "
        f"mean ± std over seeds {args.seeds}. Produced by `{command}`.\n\n"
        + table(results, biggest)
    )
    (out / "figures").mkdir(parents=True, exist_ok=True)
    if len(args.steps) > 1:
        curve(results, out)
    (out / "report.md").write_text("# dipsys evaluation\n\n" + report)
    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(report)
    if "haze" in kinds:
        airlight = airlight_errors(args.airlight_set) if args.airlight_set.is_dir() else None
        synthetic = None
        if args.suite == "generated":
            synthetic = synthetic_airlight_errors(haze_suite(side=args.max_side, count=args.cases))
        page = dehazing_report(results, biggest, command, args.seeds, airlight, synthetic)
        (out / "results_dehazing.md").write_text(page)
        if args.report is not None:
            args.report.parent.mkdir(parents=True, exist_ok=True)
            args.report.write_text(page)
        print(page)
    if args.update_readme:
        update_readme(report)


if __name__ == "__main__":
    main()
