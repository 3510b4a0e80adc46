"""One evaluation run of dipsys (a fresh output folder, the overrides composed, trained, timed)
and the ``mean (min)`` cell of the reports.

Shared by the segmentation evaluations (synthetic composites, real photos, clips).
"""

from __future__ import annotations

import shutil
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

from dipsys.config import compose_config
from dipsys.run import train

#: overrides every evaluation run takes: no progress bar, no periodic layer images
QUIET = ["trainer.enable_progress_bar=false", "callbacks.layer_images.every_n_steps=1000000"]


def run_case(overrides: Sequence[str], out: Path) -> dict:
    """Train with ``overrides`` (plus :data:`QUIET`) into a fresh ``out``; metrics.json's dict.

    ``total_wall_s`` adds the whole call's wall time (set-up, training, export, baselines).
    """
    shutil.rmtree(out, ignore_errors=True)
    cfg = compose_config([*overrides, *QUIET], output_dir=out)
    start = time.perf_counter()
    metrics = train(cfg)
    metrics["total_wall_s"] = round(time.perf_counter() - start, 3)
    return metrics


def mean_min(values: Sequence[float]) -> str:
    """``"0.864 (min 0.628)"``, or ``"–"`` for no values."""
    return f"{statistics.mean(values):.3f} (min {min(values):.3f})" if values else "–"
