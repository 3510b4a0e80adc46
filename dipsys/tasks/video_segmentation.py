"""Video foreground/background segmentation: Double-DIP segmentation over a clip."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import Tensor, nn

from dipsys.ops.grabcut import grabcut
from dipsys.ops.labels import binary_iou
from dipsys.tasks.segmentation import Segmentation
from dipsys.tasks.video import VideoDecomposition


def mask_change(masks: Tensor) -> float:
    """Mean fraction of pixels whose label flips between consecutive frames.

    .. math:: \\Delta = \\frac{1}{T - 1} \\sum_{i=1}^{T-1} \\operatorname{mean}_x
        \\big|[m^{(i+1)}(x) > ½] - [m^{(i)}(x) > ½]\\big|

    Shape:
        - masks: ``(T, 1, H, W)``
    """
    binary = (masks > 0.5).float()
    if binary.shape[0] < 2:
        return 0.0
    return float((binary[1:] - binary[:-1]).abs().mean())


class VideoSegmentation(VideoDecomposition, Segmentation):
    """Fg/bg segmentation of every frame with one foreground, background and mask generator.

    .. math:: I^{(i)} \\approx m^{(i)} \\cdot y_{fg}^{(i)} + (1 - m^{(i)}) \\cdot y_{bg}^{(i)}

    with ``y^{(i)} = G(z^{(i)})``: the generators in ``drifting`` (by default the mask and the
    moving foreground) get a gradually changing code per frame, the others (the still
    background) one code for all frames. Hints, the two-stage schedule and the loss terms are
    :class:`~dipsys.tasks.segmentation.Segmentation`'s, applied to all frames at once.

    Metrics (``mask_metrics``): ``iou`` = mean IoU over frames (``iou_frames`` per frame),
    and the temporal consistency ``mask_change`` (see :func:`mask_change`) of the result beside
    ``mask_change_gt``, the ground truth's own.

    Args:
        generators: ``foreground``, ``background`` and ``mask``.
        frames: T (None: the data module's count).
        drifting: generators with one drifting code per frame.
        drift: ρ, the per-frame code step relative to the code (module :mod:`dipsys.tasks.video`).
        **kwargs: :class:`~dipsys.tasks.segmentation.Segmentation`'s.

    Shape:
        - batch ``target``: (T, 3, h, w); layers: ``foreground``, ``background`` (T, 3, h, w),
          ``mask`` (T, 1, h, w)
        - exported: each layer (T, C, H, W) at the original size
    """

    def __init__(
        self,
        generators: Mapping[str, nn.Module],
        frames: int | None = None,
        drifting: Iterable[str] = ("foreground", "mask"),
        drift: float = 0.1,
        **kwargs: Any,
    ) -> None:
        super().__init__(generators, **kwargs)
        self.init_video(frames, drifting, drift)

    def export(self, original: Tensor) -> dict[str, Tensor]:
        """Each frame's layers, refined with that frame's hints; name → (T, C, H, W)."""
        self._frame = -1
        try:
            return super().export(original)
        finally:
            self._frame = None

    def export_frame(self, original: Tensor) -> dict[str, Tensor]:
        self._frame += 1
        return super().export_frame(original)

    def original_hints(self) -> dict[str, Tensor]:
        """The current frame's hints at the original size while exporting, else all frames'."""
        hints = super().original_hints()
        frame = getattr(self, "_frame", None)
        if frame is None:
            return hints
        return {name: hint[frame] for name, hint in hints.items()}

    def mask_metrics(self, estimate: Tensor, gt_mask: Tensor) -> dict[str, Any]:
        """Mean IoU over frames and the frame-to-frame mask change of result and truth.

        Shape:
            - estimate, gt_mask: ``(T, 1, H, W)``
        """
        ious = [binary_iou(e[0] > 0.5, t[0] > 0.5) for e, t in zip(estimate, gt_mask, strict=True)]
        return {
            "iou": round(sum(ious) / len(ious), 4),
            "iou_frames": [round(v, 4) for v in ious],
            "mask_change": round(mask_change(estimate), 4),
            "mask_change_gt": round(mask_change(gt_mask), 4),
        }

    def baselines(self, original: Tensor) -> dict[str, Tensor]:
        """GrabCut on each frame, seeded by that frame's hints."""
        hints = self.trainer.datamodule.hints
        frames = []
        for index, frame in enumerate(original):
            labels = grabcut(frame, {name: hints[name][index] for name in self.hint_names})
            frames.append(self._label_image(labels))
        return {"grabcut": torch.stack(frames)}

    def report(self, layers: dict[str, Tensor], datamodule: Any) -> dict[str, Any]:
        return {"frames": int(datamodule.num_frames), "hint_source": datamodule.hint_source}
