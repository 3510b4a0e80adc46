"""Compositing equations of transparency and watermarks, and their inverses.

Transparency mixes two layers with one global opacity per image; a watermark is an opaque
layer ``W`` seen through a per-pixel opacity ``M`` over the clean image ``C``. All images are in
[0, 1] and every function broadcasts over its arguments' shapes.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor

from dipsys.errors import InputError

__all__ = [
    "alpha_blend",
    "mixing_weight",
    "overlay_watermark",
    "remove_watermark",
    "solve_mixtures",
]


def alpha_blend(layer1: Tensor, layer2: Tensor, alpha: Tensor) -> Tensor:
    """Mix two layers with an opacity.

    .. math:: I = \\alpha \\cdot y_1 + (1 - \\alpha) \\cdot y_2

    Args:
        layer1: First layer ``y1``.
        layer2: Second layer ``y2``.
        alpha: Opacity of the first layer, a scalar per image or a map.

    Shape:
        - layer1, layer2: ``(B, C, H, W)``
        - alpha: ``(B, 1, 1, 1)`` or ``(B, 1, H, W)`` (anything that broadcasts)
        - output: ``(B, C, H, W)``
    """
    return alpha * layer1 + (1 - alpha) * layer2


def check_alpha_range(alpha_range: Sequence[float]) -> tuple[float, float]:
    """The ``(low, high)`` range opacities are mapped to, checked: ``0 <= low < high <= 1``.

    Raises:
        InputError: the range is empty or leaves [0, 1].
    """
    low, high = (float(v) for v in alpha_range)
    if not 0.0 <= low < high <= 1.0:
        raise InputError(f"task alpha_range needs 0 <= low < high <= 1, got {[low, high]}")
    return low, high


def mixing_weight(alpha_map: Tensor, low: float = 0.05, high: float = 0.95) -> Tensor:
    """One opacity per image from a generator's output map: its centre pixel, mapped to a range.

    .. math:: \\alpha = low + (high - low) \\cdot a[\\lfloor H/2 \\rfloor, \\lfloor W/2 \\rfloor]

    With a sigmoid output ``a ∈ (0, 1)`` the defaults give ``α ∈ (0.05, 0.95)``: neither layer
    can vanish from a mixture.

    Args:
        alpha_map: The generator's output (one channel per opacity).
        low: Opacity for ``a = 0``.
        high: Opacity for ``a = 1``.

    Raises:
        ValueError: unless ``0 <= low < high <= 1``.

    Shape:
        - alpha_map: ``(B, K, H, W)``
        - output: ``(B, K, 1, 1)``
    """
    if not 0.0 <= low < high <= 1.0:
        raise ValueError(f"the opacity range needs 0 <= low < high <= 1, got [{low}, {high}]")
    height, width = alpha_map.shape[-2:]
    centre = alpha_map[..., height // 2 : height // 2 + 1, width // 2 : width // 2 + 1]
    return low + (high - low) * centre


def solve_mixtures(mixtures: Tensor, alphas: Tensor) -> tuple[Tensor, Tensor]:
    """The two layers behind N ≥ 2 mixtures of known opacities, pixel by pixel (least squares).

    .. math::
        I_i = y_2 + \\alpha_i (y_1 - y_2), \\qquad
        (y_1, y_2) = \\arg\\min \\sum_i \\lVert \\alpha_i y_1 + (1 - \\alpha_i) y_2 - I_i \\rVert^2

    With ``d = y1 − y2`` this is a line fit over the opacities:
    ``d = Σ(α_i − ᾱ)(I_i − Ī) / Σ(α_i − ᾱ)²`` and ``y2 = Ī − ᾱ·d``. Exact for two mixtures.

    Args:
        mixtures: The N mixtures.
        alphas: Their opacities (of ``y1``); not all equal.

    Returns:
        ``(y1, y2)``, clamped to [0, 1].

    Raises:
        ValueError: fewer than two mixtures, or (almost) equal opacities.

    Shape:
        - mixtures: ``(N, C, H, W)``; alphas: ``(N,)``; outputs: ``(C, H, W)`` each
    """
    if mixtures.shape[0] < 2 or mixtures.shape[0] != alphas.numel():
        raise ValueError(
            f"need N >= 2 mixtures and N opacities, got {mixtures.shape[0]} and {alphas.numel()}"
        )
    alphas = alphas.to(mixtures).flatten()
    centred = alphas - alphas.mean()
    spread = centred.pow(2).sum()
    if float(spread) < 1e-6:
        raise ValueError(f"the opacities must differ to separate the layers, got {alphas.tolist()}")
    mean = mixtures.mean(dim=0)
    difference = (centred.view(-1, 1, 1, 1) * (mixtures - mean)).sum(dim=0) / spread
    layer2 = mean - alphas.mean() * difference
    return (layer2 + difference).clamp(0, 1), layer2.clamp(0, 1)


def overlay_watermark(clean: Tensor, watermark: Tensor, mask: Tensor) -> Tensor:
    """Composite a watermarked image.

    .. math:: I = M \\cdot W + (1 - M) \\cdot C

    Args:
        clean: The clean image ``C``.
        watermark: The watermark's colour layer ``W``.
        mask: The watermark's opacity ``M`` in [0, 1] (0 where there is no watermark).

    Shape:
        - clean, watermark: ``(B, 3, H, W)``
        - mask: ``(B, 1, H, W)``
        - output: ``(B, 3, H, W)``
    """
    return mask * watermark + (1 - mask) * clean


def remove_watermark(
    image: Tensor, watermark: Tensor, mask: Tensor, max_opacity: float = 0.9
) -> Tensor:
    """Invert :func:`overlay_watermark` for the clean image where the watermark is not opaque.

    .. math:: C = \\frac{I - M \\cdot W}{1 - \\min(M, M_{max})}

    Args:
        image: The watermarked image ``I``.
        watermark: ``W``.
        mask: ``M`` in [0, 1].
        max_opacity: ``M`` is capped here, so the division stays well conditioned.

    Returns:
        ``C`` clamped to [0, 1].

    Shape:
        - image, watermark: ``(B, 3, H, W)``; mask: ``(B, 1, H, W)``; output: ``(B, 3, H, W)``
    """
    opacity = mask.clamp(0.0, max_opacity)
    return ((image - opacity * watermark) / (1 - opacity)).clamp(0, 1)
