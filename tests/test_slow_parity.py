"""Slow: bf16 and DDP runs reach the float32 single-process figure (docs/speed.md's parity claims).

At reduced scale: the bundled dehazing sample at 64 px for 300 steps, seed 0, one thread.
``pytest -m slow`` runs these; CI does too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from dipsys.run import train
from tests.conftest import ROOT

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_thread")]

SCALE = ("trainer.max_steps=300", "data.max_side=64", "callbacks.layer_images.every_n_steps=1000")


def test_bf16_reaches_the_float32_figure(make_cfg):
    fp32 = train(make_cfg(*SCALE, name="fp32"))
    bf16 = train(make_cfg(*SCALE, "trainer.precision=bf16-mixed", name="bf16"))
    print(f"parity: psnr fp32 {fp32['psnr']:.3f}, bf16 {bf16['psnr']:.3f}")
    assert abs(bf16["psnr"] - fp32["psnr"]) < 0.5


def test_ddp_reaches_the_one_process_figure(tmp_path):
    batch = ("data.augmentation=batch", "data.per_step=2", "trainer.accelerator=cpu")
    command = [sys.executable, "train.py", "debug=ci", *SCALE, *batch]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    runs = {
        "one": [f"hydra.run.dir={tmp_path / 'one'}"],
        "ddp": ["trainer.strategy=ddp", "trainer.devices=2", f"hydra.run.dir={tmp_path / 'ddp'}"],
    }
    figures = {}
    for name, extra in runs.items():
        done = subprocess.run(
            command + extra, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
        )
        assert done.returncode == 0, done.stderr[-3000:]
        figures[name] = json.loads((tmp_path / name / "metrics.json").read_text())["psnr"]
    print(f"parity: psnr one process {figures['one']:.3f}, two DDP ranks {figures['ddp']:.3f}")
    assert abs(figures["ddp"] - figures["one"]) < 0.5
