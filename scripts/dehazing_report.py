"""The dehazing report of ``scripts/evaluate.py``: summary, per-case rows, stages, airlight error.

Reads the list of run records ``evaluate.py`` collects (``task``, ``case``, ``seed``, ``steps``,
``metrics``) and returns Markdown. Figures per case are means over seeds; summaries are
mean ± std over cases.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict
from pathlib import Path

import torch

from dipsys.data.io import read_image
from dipsys.ops.airlight import AIRLIGHT_ESTIMATORS

SAMPLE_CASE = "sample_rocket"


def airlight_errors(folder: Path) -> dict[str, dict[str, float]]:
    """L2 error of every registered estimator on photos with an annotated airlight.

    ``folder`` holds the photos and ``airlights_gt.json`` ({name: [R, G, B]} in [0, 1]).

    Returns:
        photo name → estimator name → ‖Â − A‖₂.
    """
    truth = json.loads((folder / "airlights_gt.json").read_text())
    errors: dict[str, dict[str, float]] = {}
    for name, rgb in sorted(truth.items()):
        path = next(p for p in folder.iterdir() if p.stem == name and p.suffix != ".json")
        image = read_image(path)[None]
        errors[name] = {
            estimator: float((estimate(image).flatten() - torch.tensor(rgb)).norm())
            for estimator, estimate in AIRLIGHT_ESTIMATORS.items()
        }
    return errors


def synthetic_airlight_errors(cases: dict[str, dict]) -> dict[str, dict[str, float]]:
    """L2 error of every estimator on the suite's uniform-airlight cases (known airlight)."""
    return {
        name: {
            estimator: float(
                (estimate(case["hazy"][None]).flatten() - case["airlight"].flatten()).norm()
            )
            for estimator, estimate in AIRLIGHT_ESTIMATORS.items()
        }
        for name, case in cases.items()
        if bool(case["uniform"])
    }


def _mean_std(values: list[float], digits: int = 2) -> str:
    if not values:
        return "–"
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.{digits}f} ± {spread:.{digits}f}"


def _per_case(results: list[dict], steps: int) -> dict[str, dict[str, dict[str, float]]]:
    """case → method → {psnr, ssim, ...} averaged over seeds."""
    collected: dict[str, dict[str, dict[str, list[float]]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(list))
    )
    for r in (r for r in results if r["steps"] == steps):
        m, case = r["metrics"], r["case"]
        figures = {r["task"]: m, "input": m["input"]}
        figures.update({f"baseline: {k}": v for k, v in m.get("baselines", {}).items()})
        stages = m.get("stages")
        if stages:
            figures[f"{r['task']} (stage 0)"] = stages[0]
        for method, values in figures.items():
            for key in ("psnr", "ssim"):
                collected[case][method][key].append(values[key])
    return {
        case: {
            method: {k: statistics.mean(v) for k, v in values.items()}
            for method, values in methods.items()
        }
        for case, methods in collected.items()
    }


def _summary(per_case: dict[str, dict[str, dict[str, float]]]) -> str:
    groups = {
        "all synthetic": [c for c in per_case if c != SAMPLE_CASE],
        "uniform A": [c for c in per_case if "_uniform_" in c],
        "gradient A": [c for c in per_case if "_gradient_" in c],
        "bundled sample": [c for c in per_case if c == SAMPLE_CASE],
    }
    methods = sorted({m for figures in per_case.values() for m in figures})
    head = " | ".join(f"{g} ({len(cases)}) PSNR | SSIM" for g, cases in groups.items() if cases)
    lines = [f"| method | {head} |", "|---" * (1 + 2 * sum(1 for c in groups.values() if c)) + "|"]
    for method in methods:
        cells = []
        for cases in (c for c in groups.values() if c):
            rows = [per_case[c][method] for c in cases if method in per_case[c]]
            cells.append(_mean_std([r["psnr"] for r in rows]))
            cells.append(_mean_std([r["ssim"] for r in rows], 3))
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cases_table(per_case: dict[str, dict[str, dict[str, float]]]) -> str:
    methods = sorted({m for figures in per_case.values() for m in figures})
    lines = ["| case | " + " | ".join(methods) + " |", "|---" * (1 + len(methods)) + "|"]
    for case in sorted(per_case):
        cells = []
        for method in methods:
            f = per_case[case].get(method)
            cells.append(f"{f['psnr']:.2f} / {f['ssim']:.3f}" if f else "–")
        lines.append(f"| {case} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _stages_table(results: list[dict], steps: int) -> str:
    runs = [r for r in results if r["steps"] == steps and r["metrics"].get("stages")]
    if not runs:
        return ""
    lines = [
        "| case | seed | stages run | returned | PSNR per stage (dB) | haze left per stage "
        "| steps per stage |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in sorted(runs, key=lambda r: (r["case"], r["seed"])):
        stages = r["metrics"]["stages"]
        psnrs = " → ".join(f"{s['psnr']:.2f}" for s in stages)
        haze = " → ".join(_haze_cell(s) for s in stages)
        steps = " → ".join(_steps_cell(s) for s in stages)
        returned = r["metrics"].get("returned_stage", len(stages) - 1)
        lines.append(
            f"| {r['case']} | {r['seed']} | {len(stages)} | {returned} | {psnrs} | {haze} "
            f"| {steps} |"
        )
    drops = [
        r["metrics"]["stages"][0]["psnr"] - r["metrics"]["psnr"]
        for r in runs
        if r["case"] != SAMPLE_CASE
    ]
    several = sorted({r["case"] for r in runs if len(r["metrics"]["stages"]) > 1})
    extended = sum(1 for r in runs if any("extended_from" in s for s in r["metrics"]["stages"]))
    note = (
        f"\nMore than one stage ran on {len(several)} of {len({r['case'] for r in runs})} cases"
        f" ({', '.join(several) or 'none'}). Largest drop of the returned result below its own "
        f"first stage over the synthetic cases: {max(drops, default=0.0):.2f} dB."
    )
    if extended:
        note += (
            f" On {extended} of {len(runs)} runs the stopping stage trained on for the steps of"
            " the stages that did not run (`a+b` steps; its haze left is the figure at `a`"
            " steps, which the stopping rule read)."
        )
    note += "\n"
    return "\n".join(lines) + "\n" + note


def _haze_cell(stage: dict) -> str:
    """The haze left the stopping rule read: at the stage's own budget for an extended one."""
    haze = stage.get("extended_from", stage).get("haze_left", float("nan"))
    return f"{haze:.3f}"


def _steps_cell(stage: dict) -> str:
    """A stage's steps, ``own+unspent`` when it trained on for the stages that did not run."""
    if "steps" not in stage:
        return "?"
    if "extended_from" in stage:
        own = stage["extended_from"]["steps"]
        return f"{own}+{stage['steps'] - own}"
    return str(stage["steps"])


def _airlight_table(errors: dict[str, dict[str, float]]) -> str:
    estimators = list(next(iter(errors.values())))
    lines = ["| photo | " + " | ".join(estimators) + " |", "|---" * (1 + len(estimators)) + "|"]
    for name, row in errors.items():
        lines.append(f"| {name} | " + " | ".join(f"{row[e]:.3f}" for e in estimators) + " |")
    for label, fn in (("median", statistics.median), ("mean", statistics.mean)):
        values = [fn([row[e] for row in errors.values()]) for e in estimators]
        lines.append(f"| **{label}** | " + " | ".join(f"**{v:.3f}**" for v in values) + " |")
    return "\n".join(lines) + "\n"


def dehazing_report(
    results: list[dict],
    steps: int,
    command: str,
    seeds: list[int],
    airlight: dict[str, dict[str, float]] | None,
    synthetic_airlight: dict[str, dict[str, float]] | None = None,
) -> str:
    """The Markdown page: summary, per-case PSNR / SSIM, iterative stages, airlight error."""
    per_case = _per_case(results, steps)
    parts = [
        "# Dehazing results\n",
        f"Written by `{command}`: {steps} total steps per run, seeds {seeds}; figures per case "
        "are means over seeds, summaries mean ± std over cases. Baselines (no training): the "
        "dark channel prior (`dcp`) and non-local haze-lines dehazing (`nonlocal`), both under "
        "the dark-channel airlight. `(stage 0)` is an iterative run's own first stage.\n",
        "## Summary (PSNR dB | SSIM)\n",
        _summary(per_case),
        "## Per case (PSNR dB / SSIM)\n",
        _cases_table(per_case),
    ]
    stages = _stages_table(results, steps)
    if stages:
        parts += ["## Iterative dehazing: stages run and returned\n", stages]
    if airlight:
        parts += [
            "## Airlight error on real hazy photos\n",
            "L2 distance between the estimated and the annotated RGB airlight (in [0, 1]) on "
            "the 13 real hazy photos with airlights annotated by Bahat & Irani (ICCP 2016; "
            "research use only, read from the shared dev data, not shipped).\n",
            _airlight_table(airlight),
        ]
    if synthetic_airlight:
        parts += [
            "## Airlight error on the synthetic suite (uniform airlight)\n",
            "Same L2 error on the suite's uniform-airlight cases, where the airlight is known "
            "exactly. In light haze no pixel is opaque, so the airlight must be extrapolated.\n",
            _airlight_table(synthetic_airlight),
        ]
    return "\n".join(parts)
