"""``summary.png``: a run's result on one labelled sheet, read back from its run folder.

Rows (each tile labelled above it, every tile ``TILE_HEIGHT`` pixels tall):

- an image task: input(s) | every layer | every baseline | ground truth (when given);
- a system: that row for the final result, then one row per stage with the stage's layers;
- a video task: one row per item (input, each layer, baseline, ground truth), each a strip of
  ``STRIP_FRAMES`` evenly spaced frames.

Rows longer than ``ROW_TILES`` tiles wrap. It is built from the files the run wrote
(``layers/``, ``baselines/``, ``stage_<i>/layers/``), so it shows exactly what was exported.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from dipsys.cli_report import baseline_label

TILE_HEIGHT = 192
STRIP_FRAMES = 4
ROW_TILES = 7
_LABEL_BAND = 22
_GAP = 6
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}

Tile = tuple[str, np.ndarray]


def read_frames(path: str | os.PathLike) -> list[np.ndarray]:
    """An image file, a folder of frames (natural order) or a video file as BGR uint8 frames."""
    path = Path(path)
    if path.is_dir():
        files = [p for p in path.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES]
        key = lambda p: [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name)]  # noqa: E731
        return [frame for p in sorted(files, key=key) if (frame := _read(p)) is not None]
    if path.suffix.lower() in _IMAGE_SUFFIXES:
        frame = _read(path)
        return [] if frame is None else [frame]
    capture = cv2.VideoCapture(str(path))
    frames = []
    while capture.isOpened():
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def _read(path: Path) -> np.ndarray | None:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None:
        return None
    if image.dtype != np.uint8:
        image = (image / max(1, np.iinfo(image.dtype).max) * 255).round().astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return image[..., :3] if image.shape[2] == 4 else image


def tile(label: str, image: np.ndarray, height: int = TILE_HEIGHT) -> np.ndarray:
    """``image`` scaled to ``height`` rows with ``label`` written in a white band above it.

    Shape:
        - image: (H, W, 3) uint8; output: (height + 22, round(W·height/H), 3) uint8
    """
    width = max(1, round(image.shape[1] * height / image.shape[0]))
    scaled = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    band = np.full((_LABEL_BAND, width, 3), 255, np.uint8)
    cv2.putText(band, label, (3, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return np.vstack([band, scaled])


def sheet(rows: Sequence[Sequence[Tile]]) -> np.ndarray:
    """Rows of labelled tiles on a white sheet, rows of more than ``ROW_TILES`` wrapped."""
    wrapped = [row[i : i + ROW_TILES] for row in rows if row for i in range(0, len(row), ROW_TILES)]
    strips = []
    for row in wrapped:
        tiles = [tile(label, image) for label, image in row]
        gap = np.full((tiles[0].shape[0], _GAP, 3), 255, np.uint8)
        strips.append(np.hstack([part for t in tiles for part in (t, gap)][:-1]))
    width = max(strip.shape[1] for strip in strips)
    padded = [
        np.pad(s, ((0, _GAP), (0, width - s.shape[1]), (0, 0)), constant_values=255) for s in strips
    ]
    return np.vstack(padded)


def _items(folder: Path) -> list[tuple[str, list[np.ndarray]]]:
    """Every image (``<name>.png``) and frame folder (``<name>/``) of ``folder``, by name."""
    if not folder.is_dir():
        return []
    items = []
    for path in sorted(folder.iterdir()):
        if path.is_dir() or path.suffix.lower() in _IMAGE_SUFFIXES:
            frames = read_frames(path)
            if frames:
                items.append((path.stem, frames))
    return items


def _strip(label: str, frames: list[np.ndarray]) -> list[Tile]:
    """Up to ``STRIP_FRAMES`` evenly spaced frames, labelled with their index."""
    picks = np.linspace(0, len(frames) - 1, min(STRIP_FRAMES, len(frames))).round().astype(int)
    return [(f"{label} #{i}", frames[i]) for i in dict.fromkeys(picks.tolist())]


def summary_rows(
    run_dir: Path, inputs: Sequence[Path], truths: Sequence[tuple[str, Path]]
) -> list[list[Tile]]:
    """The rows of ``summary.png`` for the run in ``run_dir`` (see the module docstring)."""
    items: list[tuple[str, list[np.ndarray]]] = []
    for index, path in enumerate(inputs):
        label = "input" if len(inputs) == 1 else f"input {index + 1}"
        items.append((label, read_frames(path)))
    items += _items(run_dir / "layers")
    baselines = _items(run_dir / "baselines")
    items += [(f"baseline {baseline_label(name)}", frames) for name, frames in baselines]
    items += [(label, read_frames(path)) for label, path in truths]
    items = [(label, frames) for label, frames in items if frames]
    if any(len(frames) > 1 for _, frames in items):  # a video: one strip per item
        return [_strip(label, frames) for label, frames in items]
    rows = [[(label, frames[0]) for label, frames in items]]
    stages = sorted(run_dir.glob("stage_*"), key=lambda p: int(p.name.split("_")[-1]))
    for stage in stages:
        layers = _items(stage / "layers")
        number = int(stage.name.split("_")[-1]) + 1
        rows.append([(f"stage {number}: {name}", f[len(f) // 2]) for name, f in layers])
    return rows


def write_summary(
    run_dir: Path, inputs: Sequence[Path], truths: Sequence[tuple[str, Path]] = ()
) -> Path | None:
    """Write ``run_dir/summary.png``; None when the run wrote no layer to show."""
    if not _items(Path(run_dir) / "layers"):
        return None
    rows = summary_rows(Path(run_dir), [Path(p) for p in inputs], truths)
    path = Path(run_dir) / "summary.png"
    tmp = path.with_name(".summary.tmp.png")
    cv2.imwrite(str(tmp), sheet(rows))
    os.replace(tmp, path)
    return path
