"""Several processes (DDP) share each step's augmentations; rank 0 alone writes the results."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from dipsys.data.single_image import SingleImageDataModule
from dipsys.errors import InputError

ROOT = Path(__file__).resolve().parents[1]


def _datamodule(image: Path, per_step: int, rank: int, world: int) -> SingleImageDataModule:
    dm = SingleImageDataModule(str(image), max_side=64, augmentation="batch", per_step=per_step)
    dm.prepare()
    dm.total_steps = 10
    dm.trainer = SimpleNamespace(world_size=world, global_rank=rank, global_step=0)
    return dm


def test_ranks_split_the_augmentations_of_a_step(rgb_image):
    one = _datamodule(rgb_image, 4, rank=0, world=1)
    shares = [_datamodule(rgb_image, 4, rank=r, world=2) for r in range(2)]
    for step in (1, 2, 5):
        ks = one.batch(step)["k"]
        parts = [dm.batch(step)["k"] for dm in shares]
        assert [len(p) for p in parts] == [2, 2]
        assert sorted(parts[0] + parts[1]) == sorted(ks)
        for dm, part in zip(shares, parts, strict=True):
            assert dm.batch(step)["target"].shape[0] == len(part)
    # the last step has one transform (the identity): every rank trains on it
    assert [dm.batch(9)["k"] for dm in shares] == [[0], [0]]


def test_uneven_split_is_an_error(rgb_image):
    with pytest.raises(InputError, match="split evenly"):
        _datamodule(rgb_image, 3, rank=0, world=2).batch(1)


def test_ddp_on_two_cpu_processes_writes_outputs_once(tmp_path):
    run = tmp_path / "run"
    command = [
        sys.executable,
        "train.py",
        "debug=ci",
        "trainer.strategy=ddp",
        "trainer.devices=2",
        "trainer.accelerator=cpu",
        "data.augmentation=batch",
        "data.per_step=2",
        f"hydra.run.dir={run}",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["steps"] == 6 and metrics["task"] == "dehaze"
    assert metrics["psnr_recon"] > 0
    files = [p.relative_to(run) for p in run.rglob("*") if p.is_file()]
    for name in ("metrics.json", "clean.png", "transmission.png", "airlight.png", "last.ckpt"):
        assert sum(p.name == name for p in files) == 1, (name, files)
    assert len(list((run / "tb").glob("events.out.tfevents.*"))) == 1
