"""The single-image DataModule: working size, 8-fold augmentation and the input-noise schedule.

A run fits generators to one image, so a "dataset" is the sequence of optimisation steps. Step
``t`` yields the augmented target(s) ``T_k I`` for the transforms k the plan picks, the indices k
(the task applies the same ``T_k`` to its fixed input noise) and σ_t. Each item is a pure function
of the step, so resuming at step t replays exactly what an uninterrupted run would see.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, IterableDataset

from dipsys.data.hints import hints_from_config
from dipsys.data.io import read_image, read_mask
from dipsys.data.schedules import AugmentationPlan, Constant
from dipsys.errors import InputError
from dipsys.ops.dihedral import NUM_DIHEDRAL, dihedral
from dipsys.ops.resize import resize
from dipsys.ops.user_hints import box_mask


def working_size(
    height: int, width: int, max_side: int, multiple: int, min_side: int | None = None
) -> tuple[int, int]:
    """The size the generators run at: longest side ≤ ``max_side``, both sides multiples.

    The image is scaled (never cropped) so that its longest side is at most ``max_side``; each
    side is then rounded to the nearest multiple of ``multiple`` (never above ``max_side``), and is
    at least two multiples:
    the reflection padding at the generator's deepest level needs two pixels there. The small
    aspect change this implies is undone when outputs are resized back to the original.
    ``min_side`` raises that floor (generators with 5×5 kernels need three pixels at their deepest
    level); the floor wins over ``max_side``.
    """
    scale = min(1.0, max_side / max(height, width))
    fewest = max(2, -(-int(min_side or 0) // multiple))
    most = max(fewest, max_side // multiple)

    def side(length: int) -> int:
        return min(most, max(fewest, round(length * scale / multiple))) * multiple

    h, w = side(height), side(width)
    return h, w


def _shrink_hint(hint: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """A binary hint at the working size: pixels at least half covered, or any covered at all
    when that leaves nothing (thin scribbles on a large image)."""
    coverage = resize(hint[None], size, mode="area")[0]
    shrunk = (coverage >= 0.5).float()
    return shrunk if shrunk.any() else (coverage > 0).float()


class StepDataset(IterableDataset):
    """Yields one batch per optimisation step from the current global step to the epoch's end."""

    def __init__(self, datamodule: SingleImageDataModule) -> None:
        self.dm = datamodule

    def __iter__(self) -> Iterator[dict[str, Any]]:
        dm = self.dm
        start = dm.trainer.global_step if dm.trainer is not None else 0
        stop = min(start + dm.steps_per_epoch, dm.total_steps)
        for step in range(start, stop):
            yield dm.batch(step)


class SingleImageDataModule(pl.LightningDataModule):
    """One image (plus aligned hints/masks) fitted for ``trainer.max_steps`` steps.

    Args:
        image: path of the input image (any size; gray, RGB, RGBA, 8/16 bit), or the image itself
            as a (3, H, W) tensor in [0, 1] (a system stage receiving the previous result).
        gt: optional path of the clean ground truth, same size as the image.
        max_side: longest side of the working image (the generators' resolution).
        multiple: both working sides are multiples of this (``2**levels`` of the generators).
        min_side: smallest working side the generators accept (None: two multiples).
        augmentation: ``none``, ``cyclic``, ``random`` or ``batch`` (see AugmentationPlan).
        per_step: transforms per step in ``batch`` mode.
        noise_schedule: callable ``(step, total) -> σ``; σ = 0 is forced on the final step.
        steps_per_epoch: length of a Lightning "epoch" (a logging cadence only).
        seed: seed of the random augmentation mode.
        aligned: extra images aligned with the input (name → path), read as masks, resized to the
            working size and augmented with the same transforms.
        hints: segmentation hints, the ``data.hints`` mapping (``layers``, files by name,
            ``boxes``, ``scribbles``, ``method``; see :mod:`dipsys.data.hints`). Resolved at the
            original size into ``self.hints`` and aligned as ``hint_<name>``.
        gt_mask: optional ground-truth mask or label map, same size as the image.
        gt2: optional ground truth of a second layer (e.g. the second transparency layer).
        boxes: aligned rectangles (name → ``[x0, y0, x1, y1]`` in pixels of the original, end
            exclusive; None entries are skipped), e.g. a watermark's bounding box. Each becomes a
            mask at the original size in ``self.boxes`` and is aligned as ``box_<name>``, every
            working pixel the box touches set to 1. A box must leave part of the image out.

    Batch (per step):
        ``target`` (n, 3, h, w), ``k`` list of n ints, ``sigma`` scalar tensor, ``step`` int,
        ``last`` bool, and one (n, 1, h, w) tensor per aligned image under ``aligned/<name>``
        (hints under ``aligned/hint_<name>``, boxes under ``aligned/box_<name>``).
    """

    def __init__(
        self,
        image: str | torch.Tensor,
        gt: str | None = None,
        max_side: int = 512,
        multiple: int = 32,
        min_side: int | None = None,
        augmentation: str = "none",
        per_step: int = 1,
        noise_schedule: Any = None,
        steps_per_epoch: int = 100,
        seed: int = 0,
        aligned: Mapping[str, str] | None = None,
        hints: Mapping[str, Any] | None = None,
        gt_mask: str | None = None,
        gt2: str | None = None,
        boxes: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__()
        if max_side < multiple:
            raise InputError(f"data.max_side={max_side} is smaller than the multiple {multiple}")
        self.image_path, self.gt_path = image, gt
        self.max_side, self.multiple = int(max_side), int(multiple)
        self.min_side = None if min_side is None else int(min_side)
        self.augmentation, self.per_step, self.seed = augmentation, int(per_step), int(seed)
        self.noise_schedule = noise_schedule if noise_schedule is not None else Constant(0.0)
        self.steps_per_epoch = max(1, int(steps_per_epoch))
        self.aligned_paths = dict(aligned or {})
        self.hint_config = dict(hints) if hints is not None else None
        self.gt_mask_path, self.gt2_path = gt_mask, gt2
        self.box_config = {name: box for name, box in (boxes or {}).items() if box is not None}
        self.total_steps = 0
        self.original: torch.Tensor | None = None  # (3, H, W) as read
        self.gt: torch.Tensor | None = None  # (3, H, W)
        self.image: torch.Tensor | None = None  # (3, h, w) at the working size
        self.aligned: dict[str, torch.Tensor] = {}  # name → (1, h, w)
        self.hints: dict[str, torch.Tensor] = {}  # name → (1, H, W) in {0, 1}
        self.gt_mask: torch.Tensor | None = None  # (1, H, W) in [0, 1]
        self.gt2: torch.Tensor | None = None  # (3, H, W)
        self.boxes: dict[str, torch.Tensor] = {}  # name → (1, H, W) in {0, 1}

    def prepare(self) -> None:
        """Read and check every input, choose the working size (cheap; call before heavy work).

        Raises:
            InputError: a file is missing or unreadable, the image is smaller than the generators
                allow, or the ground truth / an aligned image does not match the image's size.
        """
        if self.original is not None:
            return
        original, source = self._read_original()
        height, width = original.shape[-2:]
        if min(height, width) < self.multiple:
            raise InputError(
                f"image {source} is {width}×{height}; the generators need at least "
                f"{self.multiple}×{self.multiple} pixels"
            )
        if self.gt_path is not None:
            self.gt = read_image(self.gt_path)
            self._check_same_size("ground truth", self.gt_path, self.gt, original)
        if self.gt_mask_path is not None:
            self.gt_mask = read_mask(self.gt_mask_path)
            self._check_same_size("ground-truth mask", self.gt_mask_path, self.gt_mask, original)
        if self.gt2_path is not None:
            self.gt2 = read_image(self.gt2_path)
            self._check_same_size("second ground truth", self.gt2_path, self.gt2, original)
        size = working_size(height, width, self.max_side, self.multiple, self.min_side)
        self.image = resize(original[None], size)[0]
        for name, path in self.aligned_paths.items():
            mask = read_mask(path)
            self._check_same_size(name, path, mask, original)
            self.aligned[name] = resize(mask[None], size, mode="bilinear")[0]
        if self.hint_config is not None:
            self.hints = hints_from_config(original, self.hint_config, seed=self.seed)
            for name, hint in self.hints.items():
                self.aligned[f"hint_{name}"] = _shrink_hint(hint, size)
        for name, box in self.box_config.items():
            try:
                self.boxes[name] = box_mask((height, width), [box])
            except InputError as error:
                raise InputError(f"{name} {error}") from None
            if bool(self.boxes[name].all()):
                raise InputError(
                    f"{name} box {list(box)} covers the whole {width}×{height} image; it must "
                    "leave some of the image outside it"
                )
            coverage = resize(self.boxes[name][None], size, mode="area")[0]
            self.aligned[f"box_{name}"] = (coverage > 0).float()
        self.plan = AugmentationPlan(
            self.augmentation, self.per_step, square=size[0] == size[1], seed=self.seed
        )
        self._augmented = {
            name: [dihedral(x, k) for k in range(NUM_DIHEDRAL)]
            for name, x in {"target": self.image, **self.aligned}.items()
        }
        self.original = original

    def _read_original(self) -> tuple[torch.Tensor, str]:
        """The input at its original size, (C, H, W), and how to name it in messages."""
        if isinstance(self.image_path, torch.Tensor):
            return self.image_path.detach().float().cpu().clamp(0, 1), "from the previous stage"
        return read_image(self.image_path), str(self.image_path)

    @property
    def num_images(self) -> int:
        """How many RGB images the target stacks on its channels (1 here)."""
        self.prepare()
        return self.original.shape[0] // 3

    @staticmethod
    def _check_same_size(what: str, path: str, x: torch.Tensor, original: torch.Tensor) -> None:
        if x.shape[-2:] != original.shape[-2:]:
            h, w = x.shape[-2:]
            H, W = original.shape[-2:]
            raise InputError(f"{what} {path} is {w}×{h} but the image is {W}×{H}")

    @property
    def working_size(self) -> tuple[int, int]:
        self.prepare()
        return tuple(self.image.shape[-2:])

    def setup(self, stage: str | None = None) -> None:
        self.prepare()
        max_steps = self.trainer.max_steps if self.trainer is not None else -1
        if max_steps is None or max_steps < 1:
            raise InputError(f"trainer.max_steps must be a positive step budget, got {max_steps}")
        self.total_steps = int(max_steps)
        self.check_split(self.trainer.world_size if self.trainer is not None else 1)

    def batch(self, step: int) -> dict[str, Any]:
        """Everything step ``step`` trains on (see the class docstring)."""
        total = self.total_steps
        last = step >= total - 1
        ks, shard = self._shard(self.plan(step, total))
        sigma = 0.0 if last else float(self.noise_schedule(step, total))
        batch = {
            "k": ks,
            "shard": shard,
            "sigma": torch.tensor(sigma),
            "step": step,
            "last": last,
        }
        for name, views in self._augmented.items():
            key = name if name == "target" else f"aligned/{name}"
            batch[key] = torch.stack([views[k] for k in ks])
        return batch

    def _shard(self, ks: list[int]) -> tuple[list[int], tuple[int, int]]:
        """This process's share of a step's transforms when the Trainer runs several (DDP).

        Every process iterates the same step stream (it is a pure function of the step), and
        rank r of N trains on ``ks[r::N]``. With the generators' input noise drawn for the
        whole step and sliced the same way (the returned ``(r, N)``), and batch norm sharing its
        statistics across ranks (:mod:`dipsys.nn.batch_norm`), DDP's gradient average equals one
        process training on all of ``ks``. A single transform (``per_step=1``, the last step)
        goes to every process, with shard ``(0, 1)``.
        """
        trainer = self.trainer
        world = trainer.world_size if trainer is not None else 1
        if world == 1 or len(ks) == 1:
            return ks, (0, 1)
        self.check_split(world)
        return ks[trainer.global_rank :: world], (trainer.global_rank, world)

    def check_split(self, world: int) -> None:
        """Raise :class:`InputError` unless every step's transforms split evenly over ``world``."""
        self.prepare()
        per_step = self.plan.per_step
        if world > 1 and per_step > 1 and per_step % world:
            raise InputError(
                f"data.per_step={per_step} transforms do not split evenly over {world} devices"
            )

    def train_dataloader(self) -> DataLoader:
        return DataLoader(StepDataset(self), batch_size=None, num_workers=0)
