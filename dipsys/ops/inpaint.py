"""Classical inpainting (OpenCV), the baseline of watermark removal."""

from __future__ import annotations

import cv2
import numpy as np
import torch
from torch import Tensor

__all__ = ["inpaint"]

_METHODS = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}


def inpaint(image: Tensor, mask: Tensor, radius: int = 5, method: str = "telea") -> Tensor:
    """Fill the masked pixels from their surroundings (``cv2.inpaint``), keep the others.

    Args:
        image: The image in [0, 1].
        mask: Pixels to fill where > 0.5.
        radius: Neighbourhood radius of the fill, in pixels.
        method: ``telea`` (fast marching) or ``ns`` (Navier–Stokes).

    Raises:
        ValueError: an unknown method.

    Shape:
        - image: ``(3, H, W)``; mask: ``(1, H, W)``; output: ``(3, H, W)`` on the image's device
    """
    if method not in _METHODS:
        raise ValueError(f"unknown inpainting method '{method}'; choose one of {list(_METHODS)}")
    pixels = image.detach().float().clamp(0, 1).mul(255).round().byte().cpu()
    pixels = np.ascontiguousarray(pixels.permute(1, 2, 0).numpy())
    holes = (mask[0].detach().float().cpu().numpy() > 0.5).astype(np.uint8)
    filled = cv2.inpaint(pixels, holes, int(radius), _METHODS[method])
    result = torch.from_numpy(filled.astype(np.float32) / 255.0).permute(2, 0, 1)
    return result.to(image.device)
