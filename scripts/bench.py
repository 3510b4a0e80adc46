"""Speed, scale and precision of dipsys training steps (prints tables, asserts nothing).

    python scripts/bench.py                        # every section, defaults (~10 min, 2 cores)
    python scripts/bench.py --sections levers --sizes 128 256 --levers fused channels_last
    python scripts/bench.py --sections tasks --tasks dehaze --sizes 128 256 512

Sections:
    ceiling  GFLOP/s of a 3×3 convolution, 128 channels, batch 8, 32×32, forward + backward:
             the machine's conv ceiling that achieved GFLOP/s are compared with.
    levers   the reference dehazing configuration (three 5-level generators: J, t and a learned
             A-map; channels [8..128], skip [0, 0, 0, 4, 4], kernel 3) with one lever at a time,
             against "one augmentation, one generator at a time" (the reference's mode). Variants
             run interleaved, round after round, and each keeps its fastest round, so
             contention from other work hits all alike. ``aug/s`` counts augmentations (a step
             with 8 of them is 8 reference steps' work).
    tasks    steps/s, aug/s, peak host memory (max RSS of a fresh process per run) and achieved
             GFLOP/s (generator forward + backward, counted by FlopCounterMode) per task and size.
    memory   peak host memory of the reference dehazing configuration at 1024×1024.
    parity   reconstruction PSNR at equal steps: fp32, bf16-mixed, and DDP on 2 CPU processes
             (gloo) against one process, each with 4 augmentations per step.

Every step runs through a real Lightning Trainer (logging, checkpoints and progress bar off
unless a lever turns them on); the first ``--warmup`` steps are not timed. The public reference
implementation takes 0.071 s per step at 128×128 and 0.19 s at 256×256 on a 2-core CPU of the
machine class dipsys is developed on (three generators, one augmentation per step).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import subprocess
import sys
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("DIPSYS_ROOT", str(ROOT))
sys.path.insert(0, str(ROOT))
warnings.filterwarnings("ignore")

import torch  # noqa: E402
from bench_fit import ONE_AT_A_TIME, conv_ceiling, fit, generator_flops  # noqa: E402
from bench_parity import section_parity  # noqa: E402

from dipsys.memory import retain_freed_host_memory  # noqa: E402

logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)

REFERENCE = {128: 0.071, 256: 0.19}  # s/step of the reference implementation, 2-core CPU
REFERENCE_DEHAZE = ["task=dehaze", "task.module.airlight=learned"]
TASKS = {
    "dehaze": REFERENCE_DEHAZE,
    "transparency": ["task=transparency"],
    "segmentation": ["task=segmentation"],
    "watermark": ["task=watermark", "task.bbox=[8,8,40,40]"],
}
#: lever → how it changes the baseline (Hydra overrides, task keyword arguments, Trainer kwargs)
LEVERS = {
    "channels_last": {"levers": {"channels_last": True}},
    "fused": {"levers": {"fuse_generators": True}},
    "fused+channels_last": {"levers": {"fuse_generators": True, "channels_last": True}},
    "batch8": {"overrides": ["data.augmentation=batch", "data.per_step=8"]},
    "batch8+channels_last": {
        "overrides": ["data.augmentation=batch", "data.per_step=8"],
        "levers": {"channels_last": True},
    },
    "bf16": {"trainer": {"precision": "bf16-mixed"}},
    "bf16+channels_last": {
        "trainer": {"precision": "bf16-mixed"},
        "levers": {"channels_last": True},
    },
    "batch8+channels_last+bf16": {
        "overrides": ["data.augmentation=batch", "data.per_step=8"],
        "levers": {"channels_last": True},
        "trainer": {"precision": "bf16-mixed"},
    },
    "batch8+fused+channels_last+bf16": {
        "overrides": ["data.augmentation=batch", "data.per_step=8"],
        "levers": {"channels_last": True, "fuse_generators": True},
        "trainer": {"precision": "bf16-mixed"},
    },
    "compile": {"levers": {"compile": True}},
    "log_every_step": {"trainer": {"log_every_n_steps": 1}, "logger": True},
    "log_every_50": {"trainer": {"log_every_n_steps": 50}, "logger": True},
}
#: the default run's levers (``--levers`` picks others, e.g. ``compile``: minutes to compile)
DEFAULT_LEVERS = [
    "channels_last",
    "fused",
    "fused+channels_last",
    "batch8",
    "batch8+channels_last",
    "bf16+channels_last",
    "batch8+channels_last+bf16",
    "log_every_step",
]


# -- sections -------------------------------------------------------------------------------
def section_ceiling(args) -> dict[str, float]:
    fp32, bf16 = conv_ceiling(), conv_ceiling(torch.bfloat16)
    print(f"\n## Conv ceiling ({torch.get_num_threads()} threads)\n")
    print("| 3×3 conv, 128 ch, batch 8, 32², fwd + bwd | GFLOP/s |\n|---|---|")
    print(f"| float32 | {fp32:.1f} |\n| bf16 autocast | {bf16:.1f} |")
    return {"fp32": fp32, "bf16": bf16}


def precision_of(variant: dict) -> str:
    """``bf16`` when the variant runs the generators under bf16 autocast, else ``fp32``."""
    return "bf16" if "bf16" in str(variant.get("trainer", {}).get("precision", "")) else "fp32"


def section_levers(args, ceilings: dict[str, float]) -> None:
    names = ["one_at_a_time", *args.levers]
    print(f"\n## Levers: reference dehazing configuration, {torch.get_num_threads()} threads\n")
    print("Best of", args.rounds, "interleaved rounds of", args.steps, "timed steps each.")
    print("GFLOP/s: generator forward + backward; % of the conv ceiling of the variant's")
    print("precision (bf16 variants against the bf16 ceiling).\n")
    print(
        "| size | variant | s/step | steps/s | aug/s | vs one-at-a-time (aug/s) | vs reference "
        "| GFLOP/s | % of ceiling |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for size in args.sizes[:2]:
        best: dict[str, dict] = {}
        for _ in range(args.rounds):
            for name in names:
                variant = LEVERS.get(name, ONE_AT_A_TIME)
                run = fit(REFERENCE_DEHAZE, size, args.steps, args.warmup, variant)
                if name not in best or run["s_step"] < best[name]["s_step"]:
                    best[name] = run
        base = best["one_at_a_time"]["augs"] / best["one_at_a_time"]["s_step"]
        # every variant does the same arithmetic; counted on the plain nets (FlopCounterMode
        # over-counts the grouped convolutions of the fused pass)
        per_aug_flops = generator_flops(
            best["one_at_a_time"]["task"], best["one_at_a_time"]["batch"]
        )
        per_aug_flops /= best["one_at_a_time"]["augs"]
        for name in names:
            run = best[name]
            rate = run["augs"] / run["s_step"]
            ref = REFERENCE.get(size)
            vs_ref = f"{rate * ref:.2f}×" if ref else "–"
            gflops = per_aug_flops * run["augs"] / run["s_step"] / 1e9
            ceiling = ceilings[precision_of(LEVERS.get(name, ONE_AT_A_TIME))]
            print(
                f"| {size}² | {name} | {run['s_step']:.4f} | {1 / run['s_step']:.2f} | "
                f"{rate:.2f} | {rate / base:.2f}× | {vs_ref} | {gflops:.1f} | "
                f"{100 * gflops / ceiling:.0f}% |"
            )


def section_tasks(args, ceilings: dict[str, float]) -> None:
    precision = precision_of(TASK_MODES[args.mode])
    ceiling = ceilings[precision]
    print(f"\n## Tasks ({args.mode} mode, {torch.get_num_threads()} threads)\n")
    print(f"% of ceiling: against the {precision} conv ceiling.")
    print("Peak memory: max RSS of a fresh process for the whole run (imports ~0.4 GiB).\n")
    print(
        "| task | size | s/step | steps/s | aug/s | GFLOP/step | GFLOP/s | % of ceiling "
        "| peak GiB |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name in args.tasks:
        for size in args.sizes:
            row = worker(["--task", name, "--size", str(size), "--mode", args.mode], args)
            if row is None:
                print(f"| {name} | {size}² | failed | | | | | | |")
                continue
            gflops = row["flops"] / row["s_step"] / 1e9
            print(
                f"| {name} | {size}² | {row['s_step']:.4f} | {1 / row['s_step']:.2f} | "
                f"{row['augs'] / row['s_step']:.2f} | {row['flops'] / 1e9:.2f} | {gflops:.1f} | "
                f"{100 * gflops / ceiling:.0f}% | {row['peak_gib']:.2f} |"
            )


def section_memory(args) -> None:
    print("\n## Memory: reference dehazing configuration at 1024×1024, one augmentation\n")
    print("| mode | s/step | peak GiB |\n|---|---|---|")
    for mode in ("one_at_a_time", "channels_last"):
        row = worker(["--task", "dehaze", "--size", "1024", "--mode", mode, "--steps", "2"], args)
        text = "failed" if row is None else f"{row['s_step']:.2f} | {row['peak_gib']:.2f}"
        print(f"| {mode} | {text} |")


# -- one run per process, for a clean peak RSS --------------------------------------------
TASK_MODES = {
    "one_at_a_time": ONE_AT_A_TIME,
    "channels_last": LEVERS["channels_last"],
    "batch8+channels_last": LEVERS["batch8+channels_last"],
    "batch8+channels_last+bf16": LEVERS["batch8+channels_last+bf16"],
}


def worker(extra: list[str], args) -> dict | None:
    command = [sys.executable, __file__, "--worker", *extra]
    command += ["--warmup", str(args.warmup), "--threads", str(args.threads)]
    if args.retain_host_memory:
        command.append("--retain-host-memory")
    if "--steps" not in extra:
        command += ["--steps", str(args.task_steps)]
    done = subprocess.run(command, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        print(done.stderr[-2000:], file=sys.stderr)
        return None
    return json.loads(lines[-1])


def run_worker(args) -> None:
    run = fit(TASKS[args.task], args.size, args.steps, args.warmup, TASK_MODES[args.mode])
    flops = generator_flops(run["task"], run["batch"])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 2**30  # KiB on Linux
    row = {"s_step": run["s_step"], "augs": run["augs"], "flops": flops, "peak_gib": peak}
    print(json.dumps(row))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sections = ["ceiling", "levers", "tasks", "memory", "parity"]
    parser.add_argument("--sections", nargs="+", default=sections, choices=sections)
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256, 512])
    parser.add_argument("--levers", nargs="+", default=DEFAULT_LEVERS, choices=list(LEVERS))
    parser.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    parser.add_argument("--mode", default="channels_last", choices=list(TASK_MODES))
    parser.add_argument("--steps", type=int, default=4, help="timed steps per lever run")
    parser.add_argument("--task-steps", type=int, default=4, help="timed steps per task run")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--parity-steps", type=int, default=200)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument(
        "--retain-host-memory",
        action="store_true",
        help="keep freed host memory in the process (the retain_host_memory=true option)",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--task", default="dehaze", help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, default=128, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.worker and args.retain_host_memory:
        retain_freed_host_memory()
    if args.worker:
        run_worker(args)
        return
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs")
    if args.retain_host_memory:
        retain_freed_host_memory()
    if "ceiling" in args.sections:
        ceilings = section_ceiling(args)
    else:
        ceilings = {"fp32": conv_ceiling(), "bf16": conv_ceiling(torch.bfloat16)}
    if "levers" in args.sections:
        section_levers(args, ceilings)
    if "tasks" in args.sections:
        section_tasks(args, ceilings)
    if "memory" in args.sections:
        section_memory(args)
    if "parity" in args.sections:
        section_parity(args)


if __name__ == "__main__":
    main()
