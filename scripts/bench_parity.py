"""The precision and DDP parity section of ``scripts/bench.py``.

Reconstruction PSNR of the dehazing task at equal steps (128², 4 augmentations per step):
fp32, bf16-mixed (with and without channels-last) and DDP on 2 CPU processes (gloo) against
one process. Each run is a ``train.py`` subprocess in a temporary folder; a failed run prints
its last error line in the table.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def section_parity(args) -> None:
    size, steps = 128, args.parity_steps
    print(f"\n## Precision and DDP parity: dehazing, {size}², {steps} steps, 4 aug/step\n")
    print("| run | psnr_recon (dB) | Δ vs fp32 | wall (s) |\n|---|---|---|---|")
    common = [
        "debug=ci",
        "data.augmentation=batch",
        "data.per_step=4",
        f"data.max_side={size}",
        f"trainer.max_steps={steps}",
        "trainer.accelerator=cpu",
    ]
    runs = {
        "fp32, 1 process": [],
        "bf16-mixed, 1 process": ["trainer.precision=bf16-mixed"],
        "bf16-mixed + channels-last, 1 process": [
            "trainer.precision=bf16-mixed",
            "+task.module.channels_last=true",
        ],
        "fp32, DDP 2 processes (gloo)": ["trainer.strategy=ddp", "trainer.devices=2"],
    }
    base = None
    for label, extra in runs.items():
        with tempfile.TemporaryDirectory() as folder:
            command = [sys.executable, str(ROOT / "train.py"), *common, *extra]
            command.append(f"retain_host_memory={str(args.retain_host_memory).lower()}")
            command.append(f"hydra.run.dir={folder}")
            env = {**os.environ, "OMP_NUM_THREADS": "1" if "DDP" in label else str(args.threads)}
            done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
            metrics_file = Path(folder) / "metrics.json"
            if done.returncode or not metrics_file.is_file():
                print(f"| {label} | failed ({done.stderr.strip().splitlines()[-1:]}) | | |")
                continue
            metrics = json.loads(metrics_file.read_text())
        psnr = metrics["psnr_recon"]
        base = psnr if base is None else base
        print(f"| {label} | {psnr:.2f} | {psnr - base:+.2f} | {metrics['wall_s']:.1f} |")
