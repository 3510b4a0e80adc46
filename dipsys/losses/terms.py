"""Loss terms of Double-DIP, as plain functions returning a scalar tensor.

All are batched (means run over the batch too, so a batch of augmentations counts as one larger
image) and device/dtype agnostic. The guards that the reference lacks (an empty mask, a mask at
exactly 0.5, a zero gradient under a fourth root) are documented where they are added.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["std_loss", "exclusion_loss", "extended_l1", "binary_mask_loss"]


def std_loss(x: Tensor) -> Tensor:
    """Local-variation ("blur") loss: squared distance of each pixel to its 5×5 neighbourhood mean.

    .. math:: g = \\tfrac{1}{C} \\sum_c x_c, \\quad
        L = \\operatorname{mean}_{valid} \\big(g - \\operatorname{box}_{5 \\times 5}(g)\\big)^2

    Unpadded: only the ``(H−4)(W−4)`` positions where the whole window lies inside the image count,
    so borders are not pulled towards a padding value. Small for smooth maps (transmission,
    airlight), 0 for a constant one.

    Args:
        x: Map or image (channels are averaged first).

    Returns:
        Scalar loss.

    Shape:
        - x: ``(B, C, H, W)`` with ``H, W >= 5``
        - output: ``()``
    """
    if x.shape[-2] < 5 or x.shape[-1] < 5:
        raise ValueError(f"std_loss needs H, W >= 5, got {tuple(x.shape)}")
    g = x.mean(dim=1, keepdim=True)
    local_mean = F.avg_pool2d(g, kernel_size=5, stride=1)
    return (g[..., 2:-2, 2:-2] - local_mean).pow(2).mean()


def _gradient_products(a: Tensor, b: Tensor, dim: int) -> Tensor:
    """``mean(Ψ(∂a_i)² · Ψ(∂b_j)²)`` for every channel pair (i, j), shape ``(Ca, Cb)``."""
    ga = torch.tanh(torch.diff(a, dim=dim) / 2).pow(2)  # tanh(g/2) = 2σ(g) − 1
    gb = torch.tanh(torch.diff(b, dim=dim) / 2).pow(2)
    n = ga.shape[0] * ga.shape[2] * ga.shape[3]
    return torch.einsum("bihw,bjhw->ij", ga, gb) / n


def exclusion_loss(a: Tensor, b: Tensor, levels: int = 3, eps: float = 1e-12) -> Tensor:
    """Gradient exclusion (Zhang et al. 2018, as used by Double-DIP): layers should not share edges.

    .. math::
        e^{l}_{x}(i, j) = \\operatorname{mean}\\big(\\Psi(\\partial_x a^l_i)^2
            \\Psi(\\partial_x b^l_j)^2\\big)^{1/4}, \\quad
        L = \\frac{1}{2} \\sum_{l, i, j} \\frac{e^l_x(i, j) + e^l_y(i, j)}{L_{lev} C_a C_b}

    with ``Ψ(g) = 2σ(g) − 1 = tanh(g/2)``, ``∂_x`` the forward difference along H, ``∂_y`` along W,
    and ``a^l, b^l`` the images average-pooled 2×2 ``l`` times. All channel pairs are computed at
    once (one ``einsum`` per direction and level).

    The value is the reference's exactly. Its gradient is not: ``d m^{1/4}/dm`` is infinite at
    ``m = 0`` (e.g. when either layer is flat), which turns the backward pass into NaN, so terms
    with ``m ≤ ε`` count as 0 with a zero gradient. The sums run in float32 whatever the autocast
    dtype (typical ``m`` is ~1e-7, subnormal in float16).

    Args:
        a: First layer.
        b: Second layer (same batch and spatial size).
        levels: Number of pyramid levels.
        eps: Products at or below this count as 0 (and pass no gradient).

    Returns:
        Scalar loss (0 when either layer is constant).

    Shape:
        - a: ``(B, Ca, H, W)``
        - b: ``(B, Cb, H, W)`` with ``H, W >= 2**levels``
        - output: ``()``
    """
    if a.shape[0] != b.shape[0] or a.shape[-2:] != b.shape[-2:]:
        raise ValueError(f"exclusion_loss: shapes {tuple(a.shape)} and {tuple(b.shape)} differ")
    if levels < 1 or min(a.shape[-2:]) < 2**levels:
        raise ValueError(
            f"exclusion_loss: {levels} levels need H, W >= {2**levels}, got {tuple(a.shape[-2:])}"
        )
    # float32 whatever the autocast dtype: the products are ~1e-7, subnormal in fp16.
    a, b = a.float(), b.float()
    total = a.new_zeros(())
    for level in range(levels):
        if level > 0:
            a, b = F.avg_pool2d(a, 2), F.avg_pool2d(b, 2)
        for dim in (2, 3):
            m = _gradient_products(a, b, dim)
            # m^(1/4) with a finite (zero) gradient at m = 0: the inner where keeps pow's
            # backward away from 0, the outer one returns the exact value there.
            positive = m > eps
            root = torch.where(positive, m, torch.ones_like(m)).pow(0.25)
            total = total + torch.where(positive, root, torch.zeros_like(m)).sum()
    return 0.5 * total / (levels * a.shape[1] * b.shape[1])


def extended_l1(a: Tensor, b: Tensor, mask: Tensor, eps: float = 1e-8) -> Tensor:
    """L1 restricted to a (soft) mask and normalised by the mask's mean.

    .. math:: L = \\frac{\\operatorname{mean}|M a - M b|}{\\max(\\operatorname{mean}|M|, \\epsilon)}

    Each mean runs over its own tensor's elements, so a 1-channel ``M`` broadcast over 3-channel
    images gives the same value as a 3-channel copy of it. With ``M ≡ 1`` this is plain mean L1.
    ``ε`` only matters for an (almost) empty mask: the reference divides 0 by 0 (NaN) there; here
    the numerator is 0 too, so the loss is 0 (nothing to fit).

    Args:
        a: Prediction.
        b: Target.
        mask: Weights in [0, 1], broadcastable to ``a``.
        eps: Floor on the normaliser.

    Returns:
        Scalar loss.

    Shape:
        - a, b: ``(B, C, H, W)``
        - mask: ``(B, 1, H, W)`` or ``(B, C, H, W)``
        - output: ``()``
    """
    numerator = (mask * a - mask * b).abs().mean()
    return numerator / mask.abs().mean().clamp_min(eps)


def binary_mask_loss(mask: Tensor, eps: float = 1e-3) -> Tensor:
    """Push a mask towards binary values ("GrayLoss" of the reference).

    .. math:: L = \\frac{1}{\\operatorname{mean}|m - 0.5| + \\epsilon}

    Minimal (≈ 2) for a binary mask, maximal (``1/ε``) for ``m ≡ 0.5``. The reference has no
    ``ε`` and is unbounded; the bound matters in low precision, where a mean that rounds to 0
    would make the loss inf. The term is computed in float32 whatever the mask's dtype: its
    gradient, ``−1/(mean + ε)²``, reaches ``1/ε² = 10⁶`` near ``m ≡ 0.5``, above fp16's
    largest value (65504), and inf times the zero slope of ``|m − 0.5|`` at 0.5 is NaN.

    Args:
        mask: Mask in [0, 1].
        eps: Added to the denominator.

    Returns:
        Scalar loss.

    Shape:
        - mask: ``(B, 1, H, W)`` (any shape)
        - output: ``()``, float32
    """
    return 1.0 / ((mask.float() - 0.5).abs().mean() + eps)


def onehot_loss(probabilities: Tensor, eps: float = 1e-6) -> Tensor:
    """Push per-pixel label probabilities towards one-hot vectors: their normalised entropy.

    .. math:: L = \\operatorname{mean}_{x} \\frac{-\\sum_k p_k(x) \\log p_k(x)}{\\log K}

    0 for one-hot masks, 1 for uniform ones. Unlike the reciprocal of :func:`binary_mask_loss` it
    is bounded, so it is safe under fp16/bf16 autocast; its gradient is largest for undecided
    pixels and vanishes as a pixel commits, which leaves committed pixels to the data terms.

    Args:
        probabilities: Per-pixel distributions over K labels (softmax output), K >= 2.
        eps: Floor inside the logarithm.

    Returns:
        Scalar loss.

    Shape:
        - probabilities: ``(B, K, H, W)``
        - output: ``()``
    """
    count = probabilities.shape[1]
    entropy = -(probabilities * probabilities.clamp_min(eps).log()).sum(dim=1)
    return entropy.mean() / math.log(count)
