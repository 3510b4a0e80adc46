"""He et al.'s guided filter (ECCV 2010 / TPAMI 2013), OpenCV-backed with a pure-torch fallback.

Within every ``(2r+1)×(2r+1)`` window ``ω_k`` the output is a linear function of the guide,
``q = a_k·I + b_k``, fitted to the source ``p`` by ridge regression:

.. math::
    a_k = (\\Sigma_k + \\epsilon U)^{-1} \\operatorname{cov}_k(I, p), \\quad
    b_k = \\bar p_k - a_k^\\top \\bar I_k, \\quad
    q_i = \\bar a_i^\\top I_i + \\bar b_i

where bars are box means over the window. Borders use symmetric reflection (``dcb|abcd|cba``,
OpenCV's ``BORDER_REFLECT``) in both back-ends so they agree to float32 rounding.

The OpenCV path (``cv2.ximgproc.guidedFilter``) is much faster on CPU at the large radii used for
post-processing (r = 50) but is not differentiable; the torch path is differentiable and runs on
any device.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

try:
    import cv2

    _HAS_XIMGPROC = hasattr(cv2, "ximgproc")
except ImportError:  # pragma: no cover - opencv-contrib is a dependency
    _HAS_XIMGPROC = False

__all__ = ["guided_filter", "guided_filter_torch", "effective_radius"]

Backend = Literal["auto", "opencv", "torch"]


def effective_radius(radius: int, height: int, width: int) -> int:
    """Clamp a guided-filter radius to what the image supports.

    The radius is capped at ``min(H, W) − 1``: with a larger radius the window would wrap more
    than one reflected copy of the image and re-count border pixels, which only biases the box
    means towards the border (the filter tends to a global linear fit long before that anyway).

    Args:
        radius: Requested radius (>= 0).
        height: Image height.
        width: Image width.

    Returns:
        ``min(radius, min(height, width) − 1)``, never negative.
    """
    if radius < 0:
        raise ValueError(f"guided filter radius must be >= 0, got {radius}")
    return max(0, min(radius, min(height, width) - 1))


def guided_filter(
    guide: Tensor, src: Tensor, radius: int, eps: float, backend: Backend = "auto"
) -> Tensor:
    """Edge-preserving smoothing of ``src`` following the edges of ``guide``.

    .. math:: q_i = \\bar a_i^\\top I_i + \\bar b_i, \\quad
        a_k = (\\Sigma_k + \\epsilon U)^{-1} \\operatorname{cov}_k(I, p)

    ``backend="auto"`` uses OpenCV (``cv2.ximgproc``) when it is importable and the guide has at
    most 3 channels (OpenCV's limit), else :func:`guided_filter_torch`. The OpenCV path works on a
    detached float32 CPU copy, one batch element at a time, and returns the result on the input's
    device and dtype; it therefore carries no gradient. The radius is clamped with
    :func:`effective_radius`.

    Args:
        guide: Guide image ``I`` (gray or colour).
        src: Image ``p`` to filter; every channel is filtered independently with the same guide.
        radius: Window radius ``r`` (window side ``2r+1``).
        eps: Regularisation ``ε`` (on the variance scale of images in [0, 1]).
        backend: ``"auto"``, ``"opencv"`` or ``"torch"``.

    Returns:
        The filtered ``src``.

    Shape:
        - guide: ``(B, C, H, W)``
        - src: ``(B, Cs, H, W)``
        - output: ``(B, Cs, H, W)``
    """
    _check_shapes(guide, src)
    if backend == "auto":
        backend = "opencv" if _HAS_XIMGPROC and guide.shape[1] <= 3 else "torch"
    if backend == "torch":
        return guided_filter_torch(guide, src, radius, eps)
    if backend != "opencv":
        raise ValueError(f"unknown guided filter backend {backend!r}")
    if not _HAS_XIMGPROC:
        raise RuntimeError("cv2.ximgproc is not available; install opencv-contrib-python-headless")
    if guide.shape[1] > 3:
        raise ValueError(f"the OpenCV guided filter takes 1-3 guide channels, got {guide.shape[1]}")
    return _guided_filter_opencv(guide, src, effective_radius(radius, *src.shape[-2:]), eps)


def _check_shapes(guide: Tensor, src: Tensor) -> None:
    if guide.ndim != 4 or src.ndim != 4:
        raise ValueError(
            f"guide and src must be (B, C, H, W), got {tuple(guide.shape)} and {tuple(src.shape)}"
        )
    if guide.shape[0] != src.shape[0] or guide.shape[-2:] != src.shape[-2:]:
        raise ValueError(
            f"guide {tuple(guide.shape)} and src {tuple(src.shape)} differ in batch or spatial size"
        )


def _guided_filter_opencv(guide: Tensor, src: Tensor, radius: int, eps: float) -> Tensor:
    guide_np = guide.detach().to("cpu", torch.float32).permute(0, 2, 3, 1).contiguous().numpy()
    src_np = src.detach().to("cpu", torch.float32).contiguous().numpy()
    out = torch.empty(src.shape, dtype=torch.float32)
    for i in range(src.shape[0]):
        # One filter object per image: the guide statistics are computed once for all channels.
        gf = cv2.ximgproc.createGuidedFilter(guide_np[i], radius, eps)
        for c in range(src.shape[1]):
            out[i, c] = torch.from_numpy(gf.filter(src_np[i, c]))
    return out.to(device=src.device, dtype=src.dtype)


def _symmetric_index(n: int, pad: int, device: torch.device) -> Tensor:
    """Indices of ``range(-pad, n + pad)`` folded into ``[0, n)`` by symmetric reflection."""
    idx = torch.remainder(torch.arange(-pad, n + pad, device=device), 2 * n)
    return torch.where(idx >= n, 2 * n - 1 - idx, idx)


def _box_mean(x: Tensor, radius: int) -> Tensor:
    """Mean over a ``(2r+1)²`` window, symmetric borders, O(1) per pixel via 1-D cumsums.

    The sums are separable (rows then columns) so each cumulative sum runs over one axis only,
    which keeps the float32 cancellation error at ~1e-7 even for r = 50 on megapixel images.
    """
    if radius == 0:
        return x
    k = 2 * radius + 1
    for dim in (-2, -1):
        n = x.shape[dim]
        x = x.index_select(dim, _symmetric_index(n, radius, x.device))
        c = torch.cumsum(x, dim=dim)
        c = torch.cat([torch.zeros_like(c.narrow(dim, 0, 1)), c], dim=dim)
        x = c.narrow(dim, k, n) - c.narrow(dim, 0, n)
    return x / (k * k)


def guided_filter_torch(guide: Tensor, src: Tensor, radius: int, eps: float) -> Tensor:
    """Differentiable, device-agnostic guided filter (gray or colour guide).

    .. math:: a_k = (\\Sigma_k + \\epsilon U)^{-1} \\operatorname{cov}_k(I, p), \\quad
        b_k = \\bar p_k - a_k^\\top \\bar I_k, \\quad q_i = \\bar a_i^\\top I_i + \\bar b_i

    For a 1-channel guide ``Σ_k`` is the window variance and the inverse is a division; for a
    C-channel guide it is the per-pixel C×C covariance, solved with ``torch.linalg.solve``.
    Half-precision inputs are computed in float32 (the solve and the variance ``E[I²] − E[I]²``
    need it) and cast back.

    Args:
        guide: Guide image ``I``.
        src: Image ``p`` to filter, channel by channel.
        radius: Window radius (clamped with :func:`effective_radius`).
        eps: Regularisation ``ε``.

    Returns:
        The filtered ``src``.

    Shape:
        - guide: ``(B, C, H, W)``
        - src: ``(B, Cs, H, W)``
        - output: ``(B, Cs, H, W)``
    """
    _check_shapes(guide, src)
    b, c, h, w = guide.shape
    cs = src.shape[1]
    r = effective_radius(radius, h, w)
    work = torch.promote_types(src.dtype, torch.float32)
    guide_w, src_w = guide.to(work), src.to(work)

    mean_i = _box_mean(guide_w, r)  # (B, C, H, W)
    mean_p = _box_mean(src_w, r)  # (B, Cs, H, W)
    corr_ip = _box_mean((guide_w[:, :, None] * src_w[:, None]).flatten(1, 2), r)
    cov_ip = corr_ip.view(b, c, cs, h, w) - mean_i[:, :, None] * mean_p[:, None]
    if c == 1:
        var_i = _box_mean(guide_w * guide_w, r) - mean_i * mean_i  # (B, 1, H, W)
        a = cov_ip[:, 0] / (var_i + eps)  # (B, Cs, H, W)
        b_coef = mean_p - a * mean_i
        out = _box_mean(a, r) * guide_w + _box_mean(b_coef, r)
    else:
        corr_ii = _box_mean((guide_w[:, :, None] * guide_w[:, None]).flatten(1, 2), r)
        cov_ii = corr_ii.view(b, c, c, h, w) - mean_i[:, :, None] * mean_i[:, None]
        eye = torch.eye(c, dtype=work, device=guide.device)
        sigma = cov_ii.permute(0, 3, 4, 1, 2) + eps * eye  # (B, H, W, C, C)
        a = torch.linalg.solve(sigma, cov_ip.permute(0, 3, 4, 1, 2))  # (B, H, W, C, Cs)
        a = a.permute(0, 3, 4, 1, 2)  # (B, C, Cs, H, W)
        b_coef = mean_p - (a * mean_i[:, :, None]).sum(1)
        mean_a = _box_mean(a.flatten(1, 2), r).view(b, c, cs, h, w)
        out = (mean_a * guide_w[:, :, None]).sum(1) + _box_mean(b_coef, r)
    return out.to(src.dtype)
