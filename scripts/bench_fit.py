"""One timed training run and the FLOP counts that ``scripts/bench.py`` reports.

``fit`` trains a task through a real Lightning Trainer on a smooth random test image and times
the steps after the warm-up; ``generator_flops`` counts one forward + backward of the
generators; ``conv_ceiling`` is the machine's 3×3-convolution GFLOP/s to compare them with.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from hydra.utils import instantiate
from torch.utils.flop_counter import FlopCounterMode

from dipsys.config import compose_config
from dipsys.data.io import write_image

#: the reference's mode: one augmentation per step, one generator at a time, no levers
ONE_AT_A_TIME: dict = {"overrides": [], "levers": {}, "trainer": {}}


def test_image(path: Path, size: int) -> Path:
    """A smooth random colour image (regions and gradients, like a photo at low frequency)."""
    gen = torch.Generator().manual_seed(size)
    coarse = torch.rand(1, 3, 6, 6, generator=gen)
    image = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)
    write_image(path, image[0].clamp(0, 1))
    return path


class StepTimer(pl.Callback):
    """Wall time of the steps after the first ``warmup``."""

    def __init__(self, warmup: int) -> None:
        self.warmup, self.start, self.end = warmup, None, None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == self.warmup:
            self.start = time.perf_counter()

    def on_train_end(self, trainer, pl_module) -> None:
        self.end = time.perf_counter()


def fit(
    task_overrides: list[str],
    size: int,
    steps: int,
    warmup: int,
    variant: dict | None = None,
    tmp: Path | None = None,
) -> dict:
    """Train ``warmup + steps`` steps; seconds per step, augmentations per step, the task."""
    variant = variant or ONE_AT_A_TIME
    with tempfile.TemporaryDirectory(dir=tmp) as folder:
        image = test_image(Path(folder) / "input.png", size)
        overrides = [
            *task_overrides,
            f"data.image={image}",
            "data.gt=null",
            f"data.max_side={size}",
        ]
        cfg = compose_config([*overrides, *variant.get("overrides", [])], output_dir=folder)
        pl.seed_everything(0, verbose=False)
        datamodule = instantiate(cfg.data)
        datamodule.prepare()
        task = instantiate(
            cfg.task.module, size=datamodule.working_size, **variant.get("levers", {})
        )
        timer = StepTimer(warmup)
        logger = pl.loggers.TensorBoardLogger(folder, name="tb") if variant.get("logger") else False
        trainer = pl.Trainer(
            max_steps=warmup + steps,
            accelerator="cpu",
            logger=logger,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            callbacks=[timer],
            **variant.get("trainer", {}),
        )
        trainer.fit(task, datamodule=datamodule)
        batch = datamodule.batch(1)
    seconds = (timer.end - timer.start) / steps
    return {"s_step": seconds, "augs": len(batch["k"]), "task": task, "batch": batch}


def generator_flops(task, batch: dict) -> int:
    """FLOPs of one forward + backward of every generator (losses add well under 1%)."""
    with FlopCounterMode(display=False) as counter:
        outputs = task(batch["k"], batch["sigma"], batch["step"], batch["target"])
        sum(y.float().sum() for y in outputs.values()).backward()
    return counter.get_total_flops()


def conv_ceiling(dtype: torch.dtype = torch.float32, reps: int = 6) -> float:
    """GFLOP/s of a 3×3 conv, 128→128 channels, batch 8, 32×32, forward + backward."""
    conv = torch.nn.Conv2d(128, 128, 3, padding=1).to(memory_format=torch.channels_last)
    x = torch.rand(8, 128, 32, 32).contiguous(memory_format=torch.channels_last)
    x.requires_grad_(True)
    flops = 3 * 2 * 8 * 32 * 32 * 128 * 128 * 9  # forward, input gradient, weight gradient
    best = float("inf")
    for rep in range(reps + 2):
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=dtype, enabled=dtype != torch.float32):
            y = conv(x)
        y.float().sum().backward()
        if rep >= 2:
            best = min(best, time.perf_counter() - start)
    return flops / best / 1e9
