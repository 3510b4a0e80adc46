"""Bottom-up saliency maps used to place automatic segmentation hints.

Two classical, training-free detectors:

- :func:`spectral_residual` (Hou & Zhang, CVPR 2007): what is left of the log-amplitude spectrum
  after removing its locally averaged (expected, ``1/f``-like) part marks the unexpected image
  content.
- :func:`color_contrast`: the colour distance of every pixel to the colours found along the image
  border (a boundary prior: in most photos the object of interest does not touch the frame).

Both take one RGB image in [0, 1], run on the CPU through OpenCV/NumPy and return a map in
[0, 1] (a constant image gives all zeros). :func:`saliency_map` picks one by name and computes it
at a bounded resolution.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import torch
from torch import Tensor

from dipsys.errors import InputError
from dipsys.ops.resize import resize

__all__ = ["SALIENCY_METHODS", "color_contrast", "saliency_map", "spectral_residual"]

#: Names accepted by :func:`saliency_map`.
SALIENCY_METHODS = ("contrast", "spectral_residual")

# Spectral residual works on a tiny image: the paper's 64 px width keeps the spectrum coarse
# enough that the 3×3 average models its expected shape; larger images mostly add texture.
_SR_WIDTH = 64
# Gaussian σ (pixels at 64 px width), the paper's value: the residual response is sparse and
# edge-like, and a wide blur is what turns it into object-sized blobs (smaller σ mostly tracks
# texture).
_SR_SIGMA = 8.0
# An image whose values span less than half an 8-bit step has no structure to be salient.
_FLAT = 0.5 / 255
# Longest side at which saliency_map computes; saliency is a coarse, low-frequency map.
_MAX_SIDE = 256


def _check_image(image: Tensor) -> None:
    if image.ndim != 3 or image.shape[0] != 3:
        raise ValueError(f"expected an RGB image (3, H, W), got shape {tuple(image.shape)}")


def _to_numpy_rgb(image: Tensor) -> np.ndarray:
    """``(3, H, W)`` tensor → contiguous ``(H, W, 3)`` float32 array in [0, 1]."""
    array = image.detach().to("cpu", torch.float32).clamp(0, 1).permute(1, 2, 0)
    return np.ascontiguousarray(array.numpy())


def _normalise(saliency: np.ndarray) -> np.ndarray:
    """Min-max scale to [0, 1]; a (numerically) flat map becomes zeros instead of noise/NaN."""
    saliency = np.nan_to_num(saliency.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    low, high = float(saliency.min()), float(saliency.max())
    if high - low <= 1e-6 * max(1.0, abs(high)):
        return np.zeros_like(saliency)
    return (saliency - low) / (high - low)


def _to_map(saliency: np.ndarray, like: Tensor) -> Tensor:
    return torch.from_numpy(np.ascontiguousarray(saliency, dtype=np.float32))[None].to(like.device)


def spectral_residual(image: Tensor) -> Tensor:
    """Spectral-residual saliency (Hou & Zhang, CVPR 2007).

    .. math::
        L(f) = \\log |\\mathcal F[g](f)|, \\quad R(f) = L(f) - (h_3 * L)(f), \\quad
        S = G_\\sigma * \\big|\\mathcal F^{-1}[\\exp(R(f) + i\\,\\varphi(f))]\\big|^2

    with ``g`` the gray image resized to width 64 (aspect kept), ``h_3`` the 3×3 mean filter,
    ``φ`` the phase spectrum and ``G_σ`` a Gaussian (σ = 8 px at width 64). ``S`` is resized
    back to ``(H, W)`` and min-max normalised.

    Args:
        image: RGB image in [0, 1].

    Returns:
        The saliency map in [0, 1]; zeros for a constant image.

    Shape:
        - image: ``(3, H, W)``
        - output: ``(1, H, W)``
    """
    _check_image(image)
    height, width = image.shape[-2:]
    rgb = _to_numpy_rgb(image)
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if float(gray.max() - gray.min()) < _FLAT:
        return torch.zeros(1, height, width, device=image.device)
    small_h = max(1, round(_SR_WIDTH * height / width))
    # INTER_AREA averages when shrinking, so texture finer than the 64 px grid does not alias.
    small = cv2.resize(gray, (_SR_WIDTH, small_h), interpolation=cv2.INTER_AREA)
    spectrum = np.fft.fft2(small.astype(np.float64))
    # The epsilon only guards exact zeros of the amplitude (log 0); it is far below any real one.
    log_amplitude = np.log(np.abs(spectrum) + 1e-12)
    phase = np.angle(spectrum)
    residual = log_amplitude - cv2.blur(log_amplitude, (3, 3), borderType=cv2.BORDER_REPLICATE)
    saliency = np.abs(np.fft.ifft2(np.exp(residual + 1j * phase))) ** 2
    saliency = cv2.GaussianBlur(saliency.astype(np.float32), (0, 0), _SR_SIGMA)
    saliency = cv2.resize(saliency, (width, height), interpolation=cv2.INTER_LINEAR)
    return _to_map(_normalise(saliency), image)


def color_contrast(image: Tensor, clusters: int = 4, seed: int = 0) -> Tensor:
    """Colour contrast against the image border (a boundary prior).

    .. math:: S(x) = G_{\\sigma_2} * \\min_k \\lVert \\tilde c(x) - \\mu_k \\rVert

    where ``c̃ = G_{σ_1} * Lab(I)`` is the smoothed CIE Lab colour (σ₁ = 1% of the longest side,
    at least 1 px; σ₂ = 2σ₁) and ``μ_k`` are the centres of ``clusters`` k-means clusters of
    ``c̃`` over the border band (the outer ~5% of each side). ``S`` is min-max normalised.
    Several border clusters let a background made of a few colours (sky and ground, a wall and a
    floor) count as background everywhere. The map is continuous, without a plateau at zero, so
    rank-based thresholds (:func:`dipsys.ops.hints.threshold_hints`) select the fractions they
    aim for.

    k-means is seeded (``cv2.setRNGSeed``), so equal inputs give equal maps. The assumption
    fails when the object covers much of the border; use :func:`spectral_residual` there.

    Args:
        image: RGB image in [0, 1].
        clusters: Number of border colour clusters (at most the number of border pixels).
        seed: Seed of the k-means initialisation.

    Returns:
        The saliency map in [0, 1]; zeros for a constant image.

    Shape:
        - image: ``(3, H, W)``
        - output: ``(1, H, W)``
    """
    _check_image(image)
    height, width = image.shape[-2:]
    rgb = _to_numpy_rgb(image)
    if float(np.ptp(rgb, axis=(0, 1)).max()) < _FLAT:
        return torch.zeros(1, height, width, device=image.device)
    # float32 RGB in [0, 1] → L in [0, 100], a/b in about [−127, 127] (OpenCV's float convention).
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2Lab)
    sigma = max(1.0, 0.01 * max(height, width))
    smooth = cv2.GaussianBlur(lab, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)

    band_h = max(1, math.ceil(0.05 * height))
    band_w = max(1, math.ceil(0.05 * width))
    border = np.zeros((height, width), dtype=bool)
    border[:band_h], border[-band_h:] = True, True
    border[:, :band_w], border[:, -band_w:] = True, True
    samples = np.ascontiguousarray(smooth[border], dtype=np.float32)
    k = max(1, min(clusters, len(samples)))
    cv2.setRNGSeed(seed)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 1e-2)
    _, _, centres = cv2.kmeans(samples, k, None, criteria, 3, cv2.KMEANS_PP_CENTERS)

    pixels = smooth.reshape(-1, 1, 3)
    distance = np.sqrt(((pixels - centres[None]) ** 2).sum(-1)).min(axis=1).reshape(height, width)
    # The second blur fills the object's interior where its texture comes close to a border colour.
    contrast = cv2.GaussianBlur(
        distance.astype(np.float32), (0, 0), 2 * sigma, borderType=cv2.BORDER_REFLECT
    )
    return _to_map(_normalise(contrast), image)


def saliency_map(image: Tensor, method: str = "contrast") -> Tensor:
    """Saliency of an image by one of :data:`SALIENCY_METHODS`, at a bounded resolution.

    .. math:: S = \\operatorname{up}_{bilinear}\\big(\\operatorname{method}(
        \\operatorname{down}(I))\\big)

    The image is shrunk (antialiased) so its longest side is at most 256 px, the map computed
    there and resized back bilinearly: saliency is low-frequency, and the cost stays bounded for
    any input size.

    Args:
        image: RGB image in [0, 1].
        method: ``"contrast"`` (:func:`color_contrast`) or ``"spectral_residual"``
            (:func:`spectral_residual`).

    Returns:
        The saliency map in [0, 1].

    Raises:
        InputError: ``method`` is not one of :data:`SALIENCY_METHODS`.

    Shape:
        - image: ``(3, H, W)``
        - output: ``(1, H, W)``
    """
    if method not in SALIENCY_METHODS:
        raise InputError(
            f"unknown saliency method '{method}'; choose one of {', '.join(SALIENCY_METHODS)}"
        )
    _check_image(image)
    height, width = image.shape[-2:]
    scale = min(1.0, _MAX_SIDE / max(height, width))
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    small = resize(image[None].float(), size)[0]
    compute = color_contrast if method == "contrast" else spectral_residual
    saliency = compute(small)
    return resize(saliency[None], (height, width), mode="bilinear")[0].clamp(0, 1)
