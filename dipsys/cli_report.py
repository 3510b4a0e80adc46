"""The closing line of a run: its main figure beside the input's and the baselines', the time,
the run folder.

    dehaze: PSNR 15.94 dB (input 8.83, DCP 16.35) · 90 s · outputs/dehaze/2026-…
    segmentation: IoU 0.912 (GrabCut 0.850) · 41 s · outputs/segmentation/…
    dehaze: reconstruction PSNR 27.31 dB (no ground truth) · 12 s · outputs/dehaze/…
    watermark_multi: removed in [136, 121, 346, 280] (box found; opacity 0.18, edge ratio 0.64) · …

A watermark removal in a box (``removal`` in the metrics) is said instead of the DIPs'
reconstruction PSNR, which does not enter its result, or after the PSNR against the truth.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

#: how a baseline is named in the line (others: upper case up to 4 letters, else as is)
BASELINE_NAMES = {"grabcut": "GrabCut", "inpaint": "inpainting"}


def baseline_label(name: str) -> str:
    return BASELINE_NAMES.get(name, name.upper() if len(name) <= 4 else name)


def _others(metrics: dict[str, Any], key: str, digits: int) -> str:
    """``input x, BASELINE y`` for the figure ``key``, from the entries that have it."""
    parts = []
    given = metrics.get("input")
    if isinstance(given, dict) and given.get(key) is not None:
        parts.append(f"input {given[key]:.{digits}f}")
    for name, figures in (metrics.get("baselines") or {}).items():
        if isinstance(figures, dict) and figures.get(key) is not None:
            parts.append(f"{baseline_label(name)} {figures[key]:.{digits}f}")
    return f" ({', '.join(parts)})" if parts else ""


def removal_summary(removal: dict[str, Any]) -> str:
    """Where a box removal worked and what it found, or why it kept the input."""
    if removal.get("kept_input"):
        return f"input kept ({removal.get('kept_input_reason', 'the box is not explained')})"
    how = "box found" if removal.get("box_source") == "auto" else "box given"
    strength = removal.get("strength", 1.0)
    opacity = f"opacity {removal['opacity']:.2f}"
    if strength < 1.0 and removal.get("found_opacity") is not None:
        opacity += f" ({strength:.0%} of the {removal['found_opacity']:.2f} found)"
    return (
        f"removed in {removal.get('box')} ({how}; {opacity}, "
        f"edge ratio {removal['edge_ratio']:.2f})"
    )


def main_figure(metrics: dict[str, Any]) -> str:
    """PSNR against the ground truth, else IoU against the ground-truth mask, else the
    reconstruction's PSNR against the input; a box removal's summary after the PSNR or in
    place of the reconstruction's."""
    removal = metrics.get("removal")
    if metrics.get("psnr") is not None:
        line = f"PSNR {metrics['psnr']:.2f} dB{_others(metrics, 'psnr', 2)}"
        if metrics.get("psnr2") is not None:
            line += f", layer 2 {metrics['psnr2']:.2f} dB"
        return f"{line} · {removal_summary(removal)}" if removal else line
    if removal:
        return removal_summary(removal)
    if metrics.get("iou") is not None:
        return f"IoU {metrics['iou']:.3f}{_others(metrics, 'iou', 3)}"
    if metrics.get("psnr_recon") is not None:
        return f"reconstruction PSNR {metrics['psnr_recon']:.2f} dB (no ground truth)"
    return "no result"


def shown_path(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(Path(os.getcwd()).resolve()))
    except ValueError:
        return str(path)


def closing_line(metrics: dict[str, Any], run_dir: Path) -> str:
    """``<task>: <figure> · <seconds> s · <run folder>``."""
    wall = metrics.get("wall_s")
    seconds = f"{wall:.0f} s" if wall is not None else "? s"
    return (
        f"{metrics.get('task', 'run')}: {main_figure(metrics)} · {seconds} · {shown_path(run_dir)}"
    )
