"""Image quality against a reference: PSNR and SSIM, over the whole image or inside a mask."""

from __future__ import annotations

import math

from torch import Tensor
from torchmetrics.functional.image import (
    peak_signal_noise_ratio,
    structural_similarity_index_measure,
)

__all__ = ["image_metrics", "masked_psnr"]


def image_metrics(estimate: Tensor, reference: Tensor) -> dict[str, float]:
    """PSNR and SSIM of an estimate in [0, 1] against a reference (data range 1).

    .. math:: \\mathrm{PSNR} = -10 \\log_{10} \\operatorname{mean}(\\hat x - x)^2

    Shape:
        - estimate, reference: ``(C, H, W)``
    """
    est, ref = estimate[None].float().clamp(0, 1), reference[None].float().to(estimate.device)
    return {
        "psnr": float(peak_signal_noise_ratio(est, ref, data_range=1.0)),
        "ssim": float(structural_similarity_index_measure(est, ref, data_range=1.0)),
    }


def masked_psnr(estimate: Tensor, reference: Tensor, mask: Tensor) -> float:
    """PSNR over the pixels where ``mask`` is set (all channels), data range 1.

    .. math:: \\mathrm{PSNR}_M = -10 \\log_{10}
        \\frac{\\sum_p M_p \\lVert \\hat x_p - x_p \\rVert^2}{C \\sum_p M_p}

    Returns:
        The PSNR in dB (``inf`` for an exact match, ``nan`` for an empty mask).

    Shape:
        - estimate, reference: ``(C, H, W)``; mask: ``(1, H, W)`` or ``(H, W)``
    """
    est = estimate.float().clamp(0, 1)
    ref = reference.float().to(est.device)
    weight = mask.float().to(est.device).reshape(1, *est.shape[-2:])
    count = float(weight.sum()) * est.shape[0]
    if count == 0:
        return math.nan
    mse = float(((est - ref).pow(2) * weight).sum()) / count
    return math.inf if mse == 0 else -10.0 * math.log10(mse)
