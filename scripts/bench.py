"""Steps per second of the reference dehazing configuration (prints numbers, asserts nothing).

    python scripts/bench.py [--sizes 128 256] [--steps 40] [--warmup 5] [--airlight learned]

The reference configuration: three 5-level skip generators (J, t and a learned A-map;
channels [8, 16, 32, 64, 128], skip [0, 0, 0, 4, 4], kernel 3) on an H×W image, one
augmentation per step, Adam. Each size runs through a real Lightning Trainer with logging,
checkpoints and the progress bar off; the first ``--warmup`` steps are not timed. For scale: the
public reference implementation takes 0.071 s per step at 128×128 and 0.19 s at 256×256 on a
2-core CPU of the machine class dipsys is developed on.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
import warnings
from pathlib import Path

import pytorch_lightning as pl
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("DIPSYS_ROOT", str(ROOT))
warnings.filterwarnings("ignore")
logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)


class StepTimer(pl.Callback):
    """Wall time of the steps after the first ``warmup``."""

    def __init__(self, warmup: int) -> None:
        self.warmup, self.start, self.end = warmup, None, None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if trainer.global_step == self.warmup:
            self.start = time.perf_counter()

    def on_train_end(self, trainer, pl_module) -> None:
        self.end = time.perf_counter()


def bench(size: int, steps: int, warmup: int, overrides: list[str]) -> float:
    """Seconds per step of the dehazing task at size×size."""
    from dipsys.data.io import write_image

    with tempfile.TemporaryDirectory() as tmp:
        image = Path(tmp) / "input.png"
        write_image(image, torch.rand(3, size, size))
        with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
            cfg = compose(
                "train",
                overrides=[
                    "task=dehaze",
                    f"data.image={image}",
                    "data.gt=null",
                    f"data.max_side={size}",
                    *overrides,
                ],
            )
        datamodule = instantiate(cfg.data)
        task = instantiate(cfg.task.module, size=datamodule.working_size)
        timer = StepTimer(warmup)
        trainer = pl.Trainer(
            max_steps=warmup + steps,
            accelerator="auto",
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            callbacks=[timer],
        )
        trainer.fit(task, datamodule=datamodule)
    return (timer.end - timer.start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--airlight", default="learned", choices=["learned", "fixed"])
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides")
    args = parser.parse_args()
    reference = {128: 0.071, 256: 0.19}
    overrides = [f"task.module.airlight={args.airlight}", *args.overrides]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; overrides: {overrides}")
    print("| size | s/step | steps/s | reference s/step | speed-up |")
    print("|---|---|---|---|---|")
    for size in args.sizes:
        seconds = bench(size, args.steps, args.warmup, overrides)
        ref = reference.get(size)
        ratio = f"{ref / seconds:.2f}×" if ref else "–"
        ref_text = f"{ref:.3f}" if ref else "–"
        print(f"| {size}² | {seconds:.4f} | {1 / seconds:.2f} | {ref_text} | {ratio} |")


if __name__ == "__main__":
    main()
