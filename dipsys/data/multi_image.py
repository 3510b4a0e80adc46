"""Several images of one scene as one target: the multi-image DataModule.

Two mixtures of the same transparent layers, or photos sharing one watermark, are fitted
together. The images are read, checked to share one size and stacked on the channel axis, so the
rest of :class:`~dipsys.data.single_image.SingleImageDataModule` (working size, augmentation,
noise schedule, ground truth) applies unchanged: every step yields all N images under the same
transform T_k.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from dipsys.data.io import read_image
from dipsys.data.single_image import SingleImageDataModule
from dipsys.errors import InputError


class MultiImageDataModule(SingleImageDataModule):
    """N same-size images fitted jointly, stacked on channels.

    .. math:: \\text{target} = [T_k I_1, T_k I_2, \\dots, T_k I_N] \\quad (\\text{channels})

    Args:
        images: the input paths, all of one size.
        image: must stay None; a task reading several images rejects ``data.image`` rather
            than silently ignoring it.
        **kwargs: as :class:`SingleImageDataModule` (``gt``, ``gt2``, ``max_side``, ...); the
            ground truth must have the images' size.

    Shape:
        - ``original``: (3N, H, W); ``image``: (3N, h, w); batch ``target``: (n, 3N, h, w).
        - image i is channels ``3i .. 3i + 2``.
    """

    def __init__(
        self, images: Sequence[str] | None = None, image: str | None = None, **kwargs: Any
    ) -> None:
        if image is not None:
            raise InputError(
                "this task fits several images: give data.images=[first,second,...], not data.image"
            )
        if images is None or isinstance(images, str) or len(images) == 0:
            raise InputError(f"data.images must be a list of image paths, got {images!r}")
        super().__init__(image=None, **kwargs)
        self.image_paths = [str(path) for path in images]

    def _read_original(self) -> tuple[torch.Tensor, str]:
        first, *rest = self.image_paths
        reference = read_image(first)
        originals = [reference]
        for path in rest:
            image = read_image(path)
            self._check_same_size("image", path, image, reference)
            originals.append(image)
        return torch.cat(originals, dim=0), first

    def split(self, stacked: torch.Tensor) -> list[torch.Tensor]:
        """(…, 3N, H, W) → N tensors (…, 3, H, W), one per image."""
        return list(stacked.split(3, dim=-3))
