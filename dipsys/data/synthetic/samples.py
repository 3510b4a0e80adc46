"""Bundled license-clean samples and the random helpers the generators share."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from dipsys.data.io import read_image
from dipsys.errors import InputError

ASSETS = Path(__file__).resolve().parents[3] / "assets"

# Name -> path relative to ASSETS. Textures are grayscale; they load as three equal channels.
SAMPLES: dict[str, str] = {
    "rocket": "rocket/clean.png",
    "coffee": "coffee/image.png",
    "chelsea": "chelsea/image.png",
    "astronaut": "astronaut/image.png",
    "grass": "textures/grass.png",
    "gravel": "textures/gravel.png",
    "brick": "textures/brick.png",
}


def load_sample(name: str) -> torch.Tensor:
    """Load a bundled sample image by name (see :data:`SAMPLES`).

    Raises:
        InputError: ``name`` is not one of :data:`SAMPLES`.

    Shape:
        - Output: :math:`(3, H, W)` in [0, 1]
    """
    if name not in SAMPLES:
        raise InputError(f"unknown sample '{name}'; choose one of {', '.join(SAMPLES)}")
    return read_image(ASSETS / SAMPLES[name])


def random_field(height: int, width: int, gen: torch.Generator, grid: int = 4) -> torch.Tensor:
    """A smooth random field in [0, 1]: bicubic upsampling of a coarse uniform grid.

    Shape:
        - Output: :math:`(H, W)`
    """
    rows = max(2, round(grid * height / max(height, width)))
    cols = max(2, round(grid * width / max(height, width)))
    coarse = torch.rand(1, 1, rows, cols, generator=gen)
    field = F.interpolate(coarse, size=(height, width), mode="bicubic", align_corners=True)[0, 0]
    return (field - field.min()) / (field.max() - field.min()).clamp_min(1e-6)


def uniform(gen: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * torch.rand((), generator=gen).item()


def fit_to_size(image: torch.Tensor, size: tuple[int, int], gen: torch.Generator) -> torch.Tensor:
    """Crop the largest window of the target aspect ratio at a random offset, then resize.

    Shape:
        - image: :math:`(3, H, W)`; output: :math:`(3, h, w)` with ``(h, w) = size``
    """
    height, width = size
    scale = min(image.shape[1] / height, image.shape[2] / width)
    crop_h, crop_w = int(height * scale), int(width * scale)
    top = int(torch.randint(0, image.shape[1] - crop_h + 1, (), generator=gen))
    left = int(torch.randint(0, image.shape[2] - crop_w + 1, (), generator=gen))
    crop = image[:, top : top + crop_h, left : left + crop_w]
    if (crop_h, crop_w) == (height, width):
        return crop.clone()
    fitted = F.interpolate(crop[None], size=size, mode="bilinear", antialias=True)[0]
    return fitted.clamp(0, 1)


def colorize(texture: torch.Tensor, color: Sequence[float], strength: float = 0.6) -> torch.Tensor:
    """Tint a gray texture towards a colour (multiply blend), keeping its structure.

    .. math:: out = g \\cdot ((1 - s) + s \\cdot c)

    with ``g`` the channel mean of ``texture``, ``c`` the colour and ``s`` the strength: white
    stays the texture's gray, ``s = 1`` is a pure multiply by ``c``.

    Shape:
        - texture: :math:`(3, H, W)` or :math:`(1, H, W)`; color: :math:`(3,)`
        - Output: :math:`(3, H, W)`
    """
    tint = torch.as_tensor(color, dtype=torch.float32).view(3, 1, 1)
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength must lie in [0, 1], got {strength}")
    gray = texture.float().mean(dim=0, keepdim=True)
    return (gray * ((1 - strength) + strength * tint)).clamp(0, 1)
