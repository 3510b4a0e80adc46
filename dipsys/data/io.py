"""Image I/O through OpenCV: RGB float tensors in [0, 1], atomic writes, clear errors.

Reading uses ``IMREAD_COLOR | IMREAD_ANYDEPTH``: OpenCV applies the EXIF orientation, keeps
16-bit depth, replicates grayscale to three channels and drops an alpha channel (layers are
decomposed from the colour the camera saw, not from a compositing matte).
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import torch

from dipsys.errors import InputError

# A corrupt file is reported once, as an InputError; OpenCV's own decoder chatter is not.
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}


def _check_file(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputError(f"image not found: {path}")
    if path.is_dir():
        raise InputError(f"expected an image file, got a folder: {path}")
    if path.stat().st_size == 0:
        raise InputError(f"image file is empty: {path}")
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        supported = ", ".join(sorted(IMAGE_SUFFIXES))
        raise InputError(f"unsupported image type '{path.suffix}' ({path}); use one of {supported}")
    return path


def _to_unit_float(array: np.ndarray) -> np.ndarray:
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if array.dtype == np.uint16:
        return array.astype(np.float32) / 65535.0
    return np.clip(array.astype(np.float32), 0.0, 1.0)


def read_image(path: str | os.PathLike) -> torch.Tensor:
    """Read an image file as an RGB float tensor in [0, 1].

    Args:
        path: PNG, JPEG, ... of any size; 8- or 16-bit; gray, RGB or RGBA.

    Returns:
        The image, channels first.

    Raises:
        InputError: the file is missing, empty, of an unsupported type or cannot be decoded.

    Shape:
        - Output: :math:`(3, H, W)`
    """
    path = _check_file(path)
    array = cv2.imread(str(path), cv2.IMREAD_COLOR | cv2.IMREAD_ANYDEPTH)
    if array is None:
        raise InputError(f"cannot decode image (corrupt or not an image): {path}")
    array = cv2.cvtColor(array, cv2.COLOR_BGR2RGB)
    return torch.from_numpy(_to_unit_float(array)).permute(2, 0, 1).contiguous()


def read_mask(path: str | os.PathLike) -> torch.Tensor:
    """Read a mask or hint image as one channel in [0, 1] (colour images are averaged).

    Shape:
        - Output: :math:`(1, H, W)`
    """
    path = _check_file(path)
    array = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE | cv2.IMREAD_ANYDEPTH)
    if array is None:
        raise InputError(f"cannot decode mask (corrupt or not an image): {path}")
    return torch.from_numpy(_to_unit_float(array))[None]


def to_uint8(image: torch.Tensor) -> np.ndarray:
    """Convert a ``(C, H, W)`` tensor in [0, 1] to an ``(H, W, C)`` uint8 array (RGB order)."""
    array = image.detach().float().clamp(0, 1).mul(255).round().byte().cpu()
    return array.permute(1, 2, 0).numpy()


def write_image(path: str | os.PathLike, image: torch.Tensor) -> Path:
    """Write a ``(C, H, W)`` tensor in [0, 1] (C = 1 or 3) as an 8-bit image, atomically.

    The file is written under a temporary name in the same folder and renamed into place, so a
    crash never leaves a half-written file under the final name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    array = to_uint8(image)
    if array.shape[2] == 3:
        array = cv2.cvtColor(array, cv2.COLOR_RGB2BGR)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    if not cv2.imwrite(str(tmp), array):
        raise OSError(f"could not write image: {path}")
    os.replace(tmp, path)
    return path
