"""A flat logo's classical removal inside a box, for the watermark tasks' export.

Shared by ``watermark`` (one photo) and ``watermark_multi`` (a stack under one logo): the
removal's result is pasted into the images at the original resolution, the layers ``mask``
(``a·F``) and ``watermark`` (``L``) are drawn over the box, and what the removal found goes to
``metrics.json`` as ``removal``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor

__all__ = ["MIN_BOX", "BoxRemoval", "paste_removal", "pixel_box"]

#: the smallest box side a removal takes (its cut fixes a 3-px ring off the logo)
MIN_BOX = 8


def pixel_box(bbox: Sequence[float]) -> list[int]:
    """``[x0, y0, x1, y1]`` in whole pixels: every pixel the box touches.

    Example:
        >>> pixel_box([10.5, 4, 20.2, 9])
        [10, 4, 21, 9]
    """
    x0, y0 = math.floor(bbox[0]), math.floor(bbox[1])
    return [x0, y0, math.ceil(bbox[2]), math.ceil(bbox[3])]


def _rounded(value: float) -> float | None:
    """A ratio for metrics.json: 4 decimals, or None where it is not finite."""
    return round(float(value), 4) if math.isfinite(value) else None


def paste_removal(
    images: Tensor, box: Sequence[int], out: dict[str, Any], source: str, max_ratio: float
) -> tuple[Tensor, Tensor, Tensor, dict[str, Any]]:
    """The images with ``out``'s removal pasted into ``box``, its layers and its record.

    Args:
        images: the input images.
        box: ``[x0, y0, x1, y1]`` in whole pixels.
        out: a removal's output: ``result`` (the clean crops), ``kept_input``, ``check`` (with
            ``edge_ratio`` and ``failed``), ``footprint``, ``opacity`` (the one applied) and
            ``colour``; ``strength``, ``found_opacity``, ``polarity`` and ``readings`` are
            recorded when present.
        source: how the box came (``"given"`` or ``"auto"``).
        max_ratio: the check's bound, for the record.

    Returns:
        ``(clean, watermark, mask, record)``: the images (the input outside the box, and
        inside it where the input was kept), ``L`` and ``a·F`` over the box, and the
        ``removal`` entry of metrics.json.

    Shape:
        - images, clean: ``(N, 3, H, W)``; out["result"]: ``(N, h, w, 3)`` or ``(h, w, 3)``
        - watermark: ``(3, H, W)``; mask: ``(1, H, W)``
    """
    x0, y0, x1, y1 = box
    clean = images.clone()
    watermark = torch.zeros_like(images[0])
    mask = torch.zeros_like(images[0, :1])
    footprint = torch.from_numpy(np.asarray(out["footprint"], np.float64)).to(images)
    # a one-photo removal weighs thin strokes and the rim (watermark_single.stroke_weight)
    weight = torch.from_numpy(np.asarray(out.get("weight", out["footprint"]), np.float64))
    opacity, colour = float(out["opacity"]), np.asarray(out["colour"], np.float64)
    ratio = float(out["check"]["edge_ratio"])
    record: dict[str, Any] = {
        "kept_input": bool(out["kept_input"]),
        "edge_ratio": _rounded(ratio),
        "max_ratio": max_ratio,
        "opacity": round(opacity, 4),
        "colour": [round(float(c), 4) for c in colour],
        # a one-photo removal is scaled by how sure its check is (watermark_single)
        **{key: round(float(out[key]), 4) for key in ("strength", "found_opacity") if key in out},
        "footprint_pixels": int(footprint.sum()),
        "box": list(box),
        "box_source": source,
    }
    if "polarity" in out:  # a one-photo removal reads a light or a dark logo
        record["polarity"] = out["polarity"]
        record["readings"] = {
            side: {name: _rounded(value) for name, value in ratios.items()}
            for side, ratios in out["readings"].items()
        }
    if out["kept_input"]:
        record["kept_input_reason"] = f"{out['check']['failed']}: the box is not explained"
        return clean, watermark, mask, record
    crops = torch.from_numpy(np.asarray(out["result"])).to(images)
    clean[:, :, y0:y1, x0:x1] = crops.reshape(-1, *crops.shape[-3:]).permute(0, 3, 1, 2)
    mask[0, y0:y1, x0:x1] = opacity * weight.to(images)
    watermark[:, y0:y1, x0:x1] = torch.from_numpy(colour).to(images)[:, None, None]
    return clean, watermark, mask, record


class BoxRemoval:
    """Mixin of the watermark tasks: an export computed once per input, and its report.

    The TensorBoard image logs call ``export`` during training; a box removal depends on
    the original image only, so it is computed once and reused.
    """

    #: what the removal found (metrics.json ``removal``), None until it ran
    removal: dict[str, Any] | None = None
    _box_export: tuple[tuple, dict[str, Tensor]] | None = None

    def cached_export(
        self, original: Tensor, compute: Callable[[Tensor], dict[str, Tensor]]
    ) -> dict[str, Tensor]:
        """``compute(original)`` (on a float64 CPU copy), once per distinct ``original``."""
        key = (original.data_ptr(), tuple(original.shape), original.dtype, original.device)
        if self._box_export is None or self._box_export[0] != key:
            layers = compute(original.detach().cpu().double())
            layers = {name: layer.to(original) for name, layer in layers.items()}
            self._box_export = (key, layers)
        return self._box_export[1]

    def report(self, layers: dict[str, Tensor], datamodule: Any) -> dict[str, Any]:
        """With a box: what the removal inside it found and whether it kept the input."""
        return {"removal": self.removal} if self.removal is not None else {}
