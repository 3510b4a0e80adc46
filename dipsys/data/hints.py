"""Segmentation hints: from mask files, boxes, scribbles, or generated automatically.

A K-layer segmentation takes one hint per layer, a binary mask of pixels known to belong to it.
Names follow :func:`dipsys.ops.hint_names`: ``fg``/``bg`` for two layers, ``fg``/``mg``/``bg``
for three, ``layer<i>`` beyond. For each name the hint is the union of what the user gave (a
mask file, boxes, scribbles); names given nothing are filled by the automatic method, outside
the pixels the user assigned. Pixels claimed by two hints are dropped from both.

Automatic methods (``method``):
    - ``saliency``: the Double-DIP papers' histogram-equalisation thresholds on dipsys's own
      colour-contrast saliency (the papers used an external MATLAB tool), reshaped by
      :func:`dipsys.ops.hints.region_depth` into depth inside / outside the salient region, so
      the foreground hint is the region's core rather than its high-contrast contour;
    - ``spectral_residual``: the same on spectral-residual saliency;
    - ``intensity``: the same thresholds on the gray image itself (the three-layer reference);
    - ``clusters``: confident cores of K colour clusters, ordered by saliency;
    - ``boundary``: boundary-connectivity saliency (:func:`dipsys.ops.boundary_saliency`), a
      background prior that holds on real photos: ``fg`` where it exceeds 0.8, ``bg`` below 0.1
      (the top / bottom 5% of pixels if either is empty); K > 2 layers get ``clusters`` ordered
      by it. On the 22 real dev photos, these hints with the full-resolution refinement alone
      reach a mean IoU of 0.60 against 0.34 for GrabCut with the ``clusters`` hints;
    - ``auto``: ``boundary`` for two layers, ``clusters`` for more. On synthetic composites the
      cluster cores are large hints that cover every region (GrabCut IoU 0.999 with them,
      0.995 with ``boundary``), but on real photos their ordering by colour-contrast saliency
      often hands the foreground to the background: on the 22 real dev photos GrabCut scores
      0.34 with ``clusters`` hints, and the full-resolution refinement 0.60 with ``boundary``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from dipsys.data.io import read_mask
from dipsys.errors import InputError
from dipsys.ops.boundary_saliency import boundary_saliency
from dipsys.ops.cluster_hints import cluster_hints
from dipsys.ops.hints import hint_names, region_depth, threshold_hints
from dipsys.ops.resize import resize
from dipsys.ops.saliency import saliency_map
from dipsys.ops.user_hints import box_mask, exclusive, scribble_mask

HINT_METHODS = ("auto", "saliency", "spectral_residual", "intensity", "clusters", "boundary")

#: automatic hints are computed at most at this resolution, then resized to the image
_AUTO_MAX_SIDE = 512
# ``boundary`` hints: saliency above / below these levels, or the top / bottom fraction.
_BOUNDARY_FG, _BOUNDARY_BG, _BOUNDARY_FALLBACK = 0.8, 0.1, 0.05


def automatic_hints(image: torch.Tensor, names: Sequence[str], method: str, seed: int = 0):
    """Hints for ``names`` from the image alone (see the module docstring for the methods).

    Shape:
        - image: ``(3, H, W)``; each hint: ``(1, H, W)`` in {0, 1}
    """
    if method not in HINT_METHODS:
        raise InputError(
            f"data.hints.method must be one of {', '.join(HINT_METHODS)}, got '{method}'"
        )
    if method == "auto":
        method = "boundary" if len(names) == 2 else "clusters"
    height, width = image.shape[-2:]
    scale = min(1.0, _AUTO_MAX_SIDE / max(height, width))
    small = resize(image[None], (max(1, round(height * scale)), max(1, round(width * scale))))[0]
    if method == "clusters":
        hints = cluster_hints(small, list(names), seed=seed)
    elif method == "boundary":
        hints = _boundary_hints(small, list(names), seed=seed)
    else:
        if method == "intensity":
            score = small.mean(dim=0, keepdim=True)
        else:
            score = saliency_map(small, "contrast" if method == "saliency" else method)
            score = region_depth(score)
        hints = threshold_hints(score, list(names))
    return {
        name: (resize(hint[None].float(), (height, width), mode="nearest")[0] > 0.5).float()
        for name, hint in hints.items()
    }


def _boundary_hints(image: torch.Tensor, names: list[str], seed: int) -> dict[str, torch.Tensor]:
    """Thresholds on boundary saliency (two names) or clusters ordered by it (more)."""
    score = boundary_saliency(image)
    if len(names) > 2:
        return cluster_hints(image, names, score=score, seed=seed)
    fg, bg = score > _BOUNDARY_FG, score < _BOUNDARY_BG
    if not fg.any() or not bg.any():
        fg = score >= torch.quantile(score.flatten(), 1 - _BOUNDARY_FALLBACK)
        bg = score <= torch.quantile(score.flatten(), _BOUNDARY_FALLBACK)
    return {names[0]: fg.float(), names[1]: (bg & ~fg).float()}


def resolve_hints(
    image: torch.Tensor,
    layers: int = 2,
    files: Mapping[str, str | None] | None = None,
    boxes: Mapping[str, Sequence[Sequence[float]]] | None = None,
    scribbles: Mapping[str, Sequence[Sequence[Sequence[float]]]] | None = None,
    scribble_width: int = 5,
    method: str = "auto",
    seed: int = 0,
) -> dict[str, torch.Tensor]:
    """One binary hint per layer name, at the image's size.

    Args:
        image: the original image.
        layers: K, the number of layers (names from :func:`dipsys.ops.hint_names`).
        files: name → mask file (white = the layer), None entries ignored.
        boxes: name → list of ``[x0, y0, x1, y1]`` pixel boxes (x1, y1 exclusive).
        scribbles: name → list of polylines ``[[x, y], ...]``.
        scribble_width: line width of scribbles, in pixels.
        method: automatic method for names given nothing (see :data:`HINT_METHODS`).
        seed: seed of the automatic method.

    Returns:
        name → ``(1, H, W)`` float mask in {0, 1}, in layer order.

    Raises:
        InputError: an unknown hint name, a file of the wrong size, a box or scribble outside the
            image, or a hint that ends up empty.
    """
    names = hint_names(layers)
    height, width = image.shape[-2:]
    given: dict[str, torch.Tensor] = {}

    def add(name: str, what: str, mask: torch.Tensor) -> None:
        if name not in names:
            raise InputError(
                f"unknown hint '{name}' in data.hints.{what}; a {layers}-layer task takes "
                f"{', '.join(names)}"
            )
        given[name] = torch.maximum(given.get(name, torch.zeros_like(mask)), mask)

    for name, path in (files or {}).items():
        if path is None:
            continue
        if name not in names:
            add(name, "", torch.zeros(1, height, width))  # raises: unknown name
        mask = read_mask(path)
        if mask.shape[-2:] != (height, width):
            raise InputError(
                f"hint {name} ({path}) is {mask.shape[-1]}×{mask.shape[-2]} but the image is "
                f"{width}×{height}"
            )
        add(name, name, (mask > 0.5).float())
    for name, items in (boxes or {}).items():
        add(name, "boxes", box_mask((height, width), items))
    for name, items in (scribbles or {}).items():
        add(name, "scribbles", scribble_mask((height, width), items, width=scribble_width))
    for name, mask in given.items():
        if not mask.any():
            raise InputError(f"hint '{name}' is empty (no pixel marked)")

    missing = [name for name in names if name not in given]
    hints = dict(given)
    if missing:
        auto = automatic_hints(image, names, method, seed=seed)
        claimed = torch.zeros(1, height, width)
        for mask in given.values():
            claimed = torch.maximum(claimed, mask)
        for name in missing:
            hints[name] = auto[name] * (1 - claimed)
    hints = exclusive({name: hints[name] for name in names})
    for name, mask in hints.items():
        if not mask.any():
            source = "the automatic hints" if name in missing else "other hints"
            raise InputError(
                f"hint '{name}' is empty after removing pixels shared with {source}; "
                "give it explicitly (data.hints.<name>=mask.png, boxes or scribbles)"
            )
    return hints


def hints_from_config(image: torch.Tensor, config: Mapping[str, Any], seed: int = 0):
    """:func:`resolve_hints` from the ``data.hints`` mapping (names as direct keys for files)."""
    config = dict(config)
    layers = int(config.pop("layers", 2))
    known = {"boxes", "scribbles", "scribble_width", "method"}
    files = {k: v for k, v in config.items() if k not in known}
    return resolve_hints(
        image,
        layers=layers,
        files=files,
        boxes=config.get("boxes") or {},
        scribbles=config.get("scribbles") or {},
        scribble_width=int(config.get("scribble_width", 5)),
        method=str(config.get("method", "auto")),
        seed=seed,
    )
