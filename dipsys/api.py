"""The Python API: ``dipsys.decompose(task, image, steps=..., **overrides)``::

    import dipsys
    result = dipsys.decompose("dehaze", "photo.jpg", steps=500)
    result.layers["clean"].shape          # (H, W, 3) float32 in [0, 1], the photo's size
    result.metrics["psnr_recon"], result.run_dir

The same run as ``dipsys task=dehaze data.image=photo.jpg trainer.max_steps=500``: the same
config, the same run folder (``layers/``, ``metrics.json``, ``summary.png``, ``tb/``).
"""

from __future__ import annotations

import datetime
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

#: layer files the API reads back (the mp4/gif previews of a video layer are skipped)
_IMAGE_SUFFIX = ".png"


@dataclass
class Decomposition:
    """What a run left: its layers, figures and folder.

    Attributes:
        layers: layer name → the exported layer as float32 in [0, 1] at the input's original
            size: (H, W, 3) for colour layers, (H, W) for masks and gray layers, (T, H, W[, 3])
            for a video layer.
        metrics: the run's ``metrics.json``.
        run_dir: the run folder.
        baselines: baseline name → its estimate, as ``layers``.
    """

    layers: dict[str, np.ndarray]
    metrics: dict[str, Any]
    run_dir: Path
    baselines: dict[str, np.ndarray] = field(default_factory=dict)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}: {tuple(v.shape)}" for k, v in self.layers.items())
        return f"Decomposition({self.metrics.get('task')}: {{{shapes}}}, run_dir={self.run_dir})"


def _read_layer(path: Path) -> np.ndarray:
    """A layer PNG as float32 in [0, 1]: (H, W) for one channel, (H, W, 3) RGB otherwise."""
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    scale = float(np.iinfo(image.dtype).max)
    if image.ndim == 3:
        image = cv2.cvtColor(image[..., :3], cv2.COLOR_BGR2RGB)
    return image.astype(np.float32) / scale


def read_layers(folder: Path) -> dict[str, np.ndarray]:
    """Every ``<name>.png`` and frame folder ``<name>/`` of ``folder`` (see Decomposition)."""
    layers: dict[str, np.ndarray] = {}
    if not folder.is_dir():
        return layers
    for path in sorted(folder.iterdir()):
        if path.is_dir():
            frames = sorted(path.glob(f"*{_IMAGE_SUFFIX}"))
            if frames:
                layers[path.name] = np.stack([_read_layer(f) for f in frames])
        elif path.suffix == _IMAGE_SUFFIX:
            layers[path.stem] = _read_layer(path)
    return layers


def override_value(value: Any) -> str:
    """A Python value as a Hydra override value (lists, None, booleans, paths, strings)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{k}:{override_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return "[" + ",".join(override_value(v) for v in value) + "]"
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, str):
        plain = value and all(c.isalnum() or c in "._-/+:~" for c in value)
        return value if plain else "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return str(value)


def _input_key(task: str) -> str:
    """Which data key a task reads its input from: ``image``, ``images`` or ``video``."""
    from dipsys.config import compose_config

    data = compose_config([f"task={task}"]).data
    for key in ("video", "images", "image"):
        if data.get(key) is not None:
            return key
    return "image"


def decompose(
    task: str = "dehaze",
    image: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
    steps: int | None = None,
    *,
    run_dir: str | os.PathLike | None = None,
    progress: bool = True,
    **overrides: Any,
) -> Decomposition:
    """Run a task on an image (or images, or a video) and return its layers.

    Args:
        task: a task of ``conf/task/`` (``dipsys --help`` lists them).
        image: the input: a path for image tasks, a list of paths for ``transparency_pair`` /
            ``watermark_multi``, a video file or folder of frames for ``video_*`` tasks;
            None: the task's bundled sample.
        steps: ``trainer.max_steps`` (systems take ``task.steps`` in ``overrides``); None: the
            task's default.
        run_dir: the run folder; default ``outputs/<task>/<date_time>`` under the checkout.
        progress: show the progress bar and the closing line.
        **overrides: any config key, dots written as ``__`` (``data__max_side=256``) or passed
            as a dict (``**{"task.module.optimizer.lr": 1e-3}``); values are Python values.

    Returns:
        The exported layers (at the input's original size), ``metrics.json`` and the folder.

    Raises:
        dipsys.errors.InputError: bad input or options (one clear message), before any
            training.
        dipsys.errors.TrainingDiverged: the loss became NaN; the best result so far is written.
    """
    from dipsys.cli_hints import explain
    from dipsys.cli_logging import quiet_lightning
    from dipsys.cli_report import closing_line
    from dipsys.config import REPO_ROOT, compose_config
    from dipsys.config_checks import check_overrides
    from dipsys.errors import InputError
    from dipsys.run import train

    os.environ.setdefault("DIPSYS_ROOT", str(REPO_ROOT))
    lines = [f"task={task}"]
    if image is not None:
        # a bundled sample's ground truth applies to that sample only (the sample_gt resolver)
        lines.append(f"data.{_input_key(task)}={override_value(image)}")
    if steps is not None:
        lines.append(f"trainer.max_steps={override_value(steps)}")
    lines += [f"{k.replace('__', '.')}={override_value(v)}" for k, v in overrides.items()]
    lines.append(f"trainer.enable_progress_bar={override_value(progress)}")
    try:
        check_overrides(lines)
    except InputError as error:
        raise InputError(explain(str(error), lines)) from None
    if run_dir is None:
        stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H-%M-%S-%f")
        run_dir = Path(os.environ["DIPSYS_ROOT"]) / "outputs" / task / stamp
    cfg = compose_config(lines, output_dir=str(run_dir))
    quiet_lightning()
    metrics = train(cfg)
    run_dir = Path(run_dir)
    if not (run_dir / "metrics.json").is_file():
        raise InputError(f"the run wrote no metrics.json in {run_dir}")
    if progress:
        print(closing_line(metrics, run_dir))
    return Decomposition(
        layers=read_layers(run_dir / "layers"),
        metrics=json.loads((run_dir / "metrics.json").read_text()),
        run_dir=run_dir,
        baselines=read_layers(run_dir / "baselines"),
    )
