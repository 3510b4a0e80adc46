"""The video DataModule: all frames of a short clip as one batch per step.

A video task shares one generator per layer across the frames, so every step fits all T frames
together: the batch is the clip itself, ``target`` = (T, 3, h, w), and each frame takes the same
dihedral transform T_k (the task transforms every frame's input noise with it). Treating frames
as the batch axis (rather than stacking them on channels, as the multi-image module does) lets
the generators run once on T inputs and keeps every per-image loss and compositing equation of
the image tasks unchanged.

Ground truth for video is a folder of frames (``gt``, ``gt2``, ``gt_mask``) with one frame per
input frame. Segmentation hints are resolved per frame: a hint given as a folder of masks
contributes its i-th file to frame i; boxes and scribbles apply to every frame. When no hint
is given for a two-layer task and ``hints.method`` is ``auto`` or ``motion``, the hints come
from motion (:func:`dipsys.ops.motion.motion_hints`: what moves against the background the
frames agree on, the camera's pan compensated); a clip where nothing moves falls back to hints made
from each frame alone (``auto``: ``boundary``), and ``hint_source`` says which was used. With
``still_background``, pixels whose colour never changes over the clip join every frame's
background hint (a static camera: what never moves is background).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from dipsys.data.hints import hints_from_config
from dipsys.data.schedules import AugmentationPlan
from dipsys.data.single_image import SingleImageDataModule, _shrink_hint, working_size
from dipsys.data.video_io import frame_files, read_video
from dipsys.errors import InputError
from dipsys.ops.dihedral import NUM_DIHEDRAL, dihedral
from dipsys.ops.motion import motion_hints
from dipsys.ops.resize import resize

_HINT_OPTIONS = {"layers", "boxes", "scribbles", "scribble_width", "method"}
# hints.method values that take the hints from motion when the user gave none
_MOTION_METHODS = {"auto", "motion"}


def _gives_hints(config: Mapping[str, Any]) -> bool:
    """Whether the ``data.hints`` mapping gives any hint (a mask, folder, box or scribble)."""
    masks = any(value for name, value in config.items() if name not in _HINT_OPTIONS)
    return masks or any(bool(config.get(key)) for key in ("boxes", "scribbles"))


class VideoDataModule(SingleImageDataModule):
    """A clip of T same-size frames fitted jointly, one batch of T frames per step.

    .. math:: \\text{target} = [T_k I^{(1)}, \\dots, T_k I^{(T)}] \\quad (\\text{batch})

    Args:
        video: a video file (mp4, avi, ...) or a folder of frames.
        image: must stay None; video tasks read ``data.video``.
        gt, gt2: optional folders of ground-truth frames (first / second layer).
        gt_mask: optional folder of ground-truth masks, one per frame.
        hints: the ``data.hints`` mapping; mask entries may be folders of per-frame masks.
        still_background: when set, pixels whose colour range over the clip,
            mean_c (max_i I_c − min_i I_c), stays below it are added to every frame's ``bg``
            hint where no ``fg`` hint is set (two-layer hints; None: off).
        **kwargs: as :class:`SingleImageDataModule` (``max_side``, ``multiple``, ``min_side``,
            ``augmentation``, ``noise_schedule``, ``steps_per_epoch``, ``seed``).

    Shape:
        - ``original``: (T, 3, H, W); ``image``: (T, 3, h, w); ``gt``, ``gt2``: (T, 3, H, W);
          ``gt_mask``: (T, 1, H, W); ``hints``: name → (T, 1, H, W)
        - batch: ``target`` (T, 3, h, w), ``k`` T equal ints, ``aligned/hint_<name>``
          (T, 1, h, w)
    """

    def __init__(
        self,
        video: str | None = None,
        image: str | None = None,
        gt: str | None = None,
        gt2: str | None = None,
        gt_mask: str | None = None,
        hints: Mapping[str, Any] | None = None,
        still_background: float | None = None,
        **kwargs: Any,
    ) -> None:
        if image is not None:
            raise InputError("this task fits a video: give data.video=<file or folder of frames>")
        if video is None:
            raise InputError("data.video is required: a video file or a folder of frames")
        super().__init__(image=None, hints=hints, **kwargs)
        self.video_path = str(video)
        self.gt_path, self.gt2_path, self.gt_mask_path = gt, gt2, gt_mask
        self.still_background = still_background
        #: where the hints came from: "given", "motion", "frames" (each frame alone) or None
        self.hint_source: str | None = None

    @property
    def num_frames(self) -> int:
        self.prepare()
        return int(self.original.shape[0])

    def prepare(self) -> None:
        """Read and check the clip and its ground truth, choose the working size, make hints.

        Raises:
            InputError: a missing/empty/undecodable video or folder, frames smaller than the
                generators allow, or ground truth / hint folders of another frame count or size.
        """
        if self.original is not None:
            return
        original = read_video(self.video_path)
        count, _, height, width = original.shape
        if min(height, width) < self.multiple:
            raise InputError(
                f"video {self.video_path} is {width}×{height}; the generators need at least "
                f"{self.multiple}×{self.multiple} pixels"
            )
        self.gt = self._read_truth("ground truth", self.gt_path, original)
        self.gt2 = self._read_truth("second ground truth", self.gt2_path, original)
        self.gt_mask = self._read_truth("ground-truth mask", self.gt_mask_path, original, True)
        size = working_size(height, width, self.max_side, self.multiple, self.min_side)
        self.image = resize(original, size)
        if self.hint_config is not None:
            self._frame_hints(original, size)
        self.plan = AugmentationPlan(
            self.augmentation, 1, square=size[0] == size[1], seed=self.seed
        )
        self._augmented = {
            name: [dihedral(x, k) for k in range(NUM_DIHEDRAL)]
            for name, x in {"target": self.image, **self.aligned}.items()
        }
        self.original = original

    def _read_truth(
        self, what: str, path: str | None, original: torch.Tensor, masks: bool = False
    ) -> torch.Tensor | None:
        if path is None:
            return None
        truth = read_video(path, masks=masks)
        if truth.shape[0] != original.shape[0]:
            raise InputError(
                f"{what} {path} has {truth.shape[0]} frames but the video has {original.shape[0]}"
            )
        self._check_same_size(what, path, truth, original)
        return truth

    def _frame_hints(self, original: torch.Tensor, size: tuple[int, int]) -> None:
        """Resolve the hints of every frame (folder entries give their i-th file to frame i)."""
        config = dict(self.hint_config)
        per_frame = self._motion_hints(original, config)
        if per_frame is None:
            per_frame = self._each_frame_hints(original, config)
        if self.still_background is not None and {"fg", "bg"} == set(per_frame[0]):
            spread = (original.amax(dim=0) - original.amin(dim=0)).mean(dim=0, keepdim=True)
            still = (spread < self.still_background).float()
            for hints in per_frame:
                hints["bg"] = torch.maximum(hints["bg"], still * (1 - hints["fg"]))
        for name in per_frame[0]:
            self.hints[name] = torch.stack([hints[name] for hints in per_frame])
            self.aligned[f"hint_{name}"] = torch.stack(
                [_shrink_hint(hints[name], size) for hints in per_frame]
            )

    def _motion_hints(
        self, original: torch.Tensor, config: dict[str, Any]
    ) -> list[dict[str, torch.Tensor]] | None:
        """Per-frame fg/bg hints from motion when no hint is given (None: not applicable)."""
        method = str(config.get("method", "auto"))
        given = _gives_hints(config)
        if int(config.get("layers", 2)) != 2 or given or method not in _MOTION_METHODS:
            if method == "motion" and not given:
                raise InputError("data.hints.method=motion makes fg/bg hints: use layers=2")
            return None
        hints = motion_hints(original)
        if hints is None:
            return None
        self.hint_source = "motion"
        return [{"fg": fg, "bg": bg} for fg, bg in zip(hints["fg"], hints["bg"], strict=True)]

    def _each_frame_hints(
        self, original: torch.Tensor, config: dict[str, Any]
    ) -> list[dict[str, torch.Tensor]]:
        """Each frame's hints from the config, folders giving their i-th file to frame i."""
        if config.get("method") == "motion":
            config["method"] = "auto"  # nothing moves: hints from each frame alone
        folders = {}
        for name, value in config.items():
            if name not in _HINT_OPTIONS and value is not None and Path(str(value)).is_dir():
                files = frame_files(value)
                if len(files) != original.shape[0]:
                    raise InputError(
                        f"hint folder {value} has {len(files)} frames but the video has "
                        f"{original.shape[0]}"
                    )
                folders[name] = files
        self.hint_source = "given" if _gives_hints(config) else "frames"
        per_frame = []
        for index, frame in enumerate(original):
            frame_config = config | {name: str(files[index]) for name, files in folders.items()}
            per_frame.append(hints_from_config(frame, frame_config, seed=self.seed))
        return per_frame

    def batch(self, step: int) -> dict[str, Any]:
        """Every frame under the plan's transform for ``step`` (see the class docstring)."""
        total = self.total_steps
        last = step >= total - 1
        k = self.plan(step, total)[0]
        sigma = 0.0 if last else float(self.noise_schedule(step, total))
        batch = {
            "k": [k] * self.image.shape[0],
            "sigma": torch.tensor(sigma),
            "step": step,
            "last": last,
        }
        for name, views in self._augmented.items():
            batch[name if name == "target" else f"aligned/{name}"] = views[k]
        return batch
