"""Training-mode batch norm that is fast in channels-last and can share statistics across ranks.

dipsys generators keep batch norm in training mode throughout: every call normalises with the
batch's own per-channel mean and variance. Two cases need more than ``F.batch_norm``:

- **Channels-last with fewer than 16 channels.** PyTorch's CPU kernel for NHWC batch norm is not
  vectorised below 16 channels; for the 8-channel full-resolution layers of a skip net its
  backward pass is 5–15× slower than the same layer in NCHW and took a third of a channels-last
  training step at 256². Here the NHWC tensor is read as a matrix whose rows hold ``k`` pixels'
  channels side by side (``(B·H·W/k, k·C)``, a view, no copy), so every reduction and every
  per-channel scale runs over rows of ≥ 64 contiguous values.
- **Several processes (DDP).** Each rank sees its share of a step's augmentations; with
  ``group`` set, the per-channel sums are all-reduced in the forward pass and the gradient sums
  in the backward pass, so N ranks normalise exactly as one process with the whole batch (the
  autograd recipe of ``torch.nn.SyncBatchNorm``, which supports GPUs only; this one runs on CPU
  with gloo too).

Otherwise :func:`batch_norm` is ``F.batch_norm``, so results are unchanged bit for bit.

Math (per channel c, over the M = B·H·W values of all ranks): ``μ = Σx/M``,
``σ² = Σ(x − μ)²/M`` (sums accumulated in float32, or float64 for float64 inputs),
``y = (x − μ)·γ/√(σ² + ε) + β``; backward with ``x̂ = (x − μ)/√(σ² + ε)``:
``∂γ = Σ g·x̂``, ``∂β = Σ g``, ``∂x = γ/√(σ² + ε)·(g − ∂β/M − x̂·∂γ/M)``.

Shape:
    - Input: ``(B, C, H, W)`` in any memory format, any float dtype (statistics in at least float32)
    - Output: same shape, dtype and memory format
"""

from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import Tensor, nn

#: Below this many channels, channels-last inputs take the row-view path (see module docstring).
NHWC_SLOW_BELOW = 16
#: Width, in values, of the rows that the channels-last path reduces over.
_ROW = 64


def batch_norm(
    x: Tensor,
    weight: Tensor,
    bias: Tensor,
    eps: float,
    group: object | None = None,
    running: tuple[Tensor, Tensor, float] | None = None,
) -> Tensor:
    """Training-mode batch norm of ``x`` with the batch's statistics (see the module docstring).

    Args:
        x: ``(B, C, H, W)``.
        weight, bias: ``(C,)`` affine parameters γ and β.
        eps: added to the variance.
        group: a ``torch.distributed`` process group whose ranks share statistics, or ``None``.
        running: ``(running_mean, running_var, momentum)`` to update in place, as
            ``nn.BatchNorm2d`` does (unbiased variance), or ``None``.
    """
    channels_last = _is_channels_last(x)
    if group is None and not (channels_last and x.shape[1] < NHWC_SLOW_BELOW):
        mean, var, momentum = running if running is not None else (None, None, 0.0)
        return F.batch_norm(x, mean, var, weight, bias, True, momentum, eps)
    y, mean, var, count = _BatchNorm.apply(x, weight, bias, eps, group)
    if running is not None:
        running_mean, running_var, momentum = running
        with torch.no_grad():
            unbiased = var * (count / (count - 1).clamp_min(1)).to(var.dtype)
            running_mean.lerp_(mean.to(running_mean), momentum)
            running_var.lerp_(unbiased.to(running_var), momentum)
    return y


class BatchNorm2d(nn.BatchNorm2d):
    """``nn.BatchNorm2d`` whose training-mode pass is :func:`batch_norm`.

    Same parameters, buffers and state-dict keys as ``nn.BatchNorm2d``. Set :attr:`group` (a
    process group) to share statistics across ranks; dipsys tasks do so under DDP.
    """

    group: object | None = None

    def forward(self, x: Tensor) -> Tensor:
        if not self.training:
            return super().forward(x)
        running = None
        if self.track_running_stats and self.running_mean is not None:
            self.num_batches_tracked.add_(1)
            momentum = self.momentum
            if momentum is None:  # cumulative average, as nn.BatchNorm2d
                momentum = 1.0 / float(self.num_batches_tracked)
            running = (self.running_mean, self.running_var, momentum)
        return batch_norm(x, self.weight, self.bias, self.eps, self.group, running)


def _is_channels_last(x: Tensor) -> bool:
    return (
        x.dim() == 4
        and not x.is_contiguous()
        and x.is_contiguous(memory_format=torch.channels_last)
    )


class _Layout:
    """Per-channel reductions and broadcasts for one tensor layout.

    Channels-last: the ``(B, H, W, C)`` storage is viewed as rows of ``k`` pixels' channels,
    ``(B·H·W/k, k·C)``. Otherwise: ``(B, C, H·W)``, reduced over dims 0 and 2.
    """

    def __init__(self, x: Tensor) -> None:
        batch, channels, height, width = x.shape
        self.shape = (batch, channels, height, width)
        #: precision of the statistics and per-channel coefficients
        self.acc = torch.promote_types(x.dtype, torch.float32)
        self.count = batch * height * width
        self.nhwc = _is_channels_last(x)
        k = max(1, _ROW // channels) if self.nhwc else 1
        while k > 1 and self.count % k:
            k //= 2
        self.k = k

    def view(self, t: Tensor) -> Tensor:
        batch, channels, height, width = self.shape
        if self.nhwc:
            t = t.contiguous(memory_format=torch.channels_last)
            return t.permute(0, 2, 3, 1).reshape(self.count // self.k, self.k * channels)
        return t.contiguous().view(batch, channels, height * width)

    def unview(self, t: Tensor) -> Tensor:
        batch, channels, height, width = self.shape
        if self.nhwc:
            return t.view(batch, height, width, channels).permute(0, 3, 1, 2)
        return t.view(batch, channels, height, width)

    def sum(self, t: Tensor) -> Tensor:
        """Per-channel sum of a viewed tensor in :attr:`acc` precision: ``(C,)``."""
        if self.nhwc:
            return t.sum(0, dtype=self.acc).view(self.k, -1).sum(0)
        return t.sum((0, 2), dtype=self.acc)

    def per_channel(self, v: Tensor) -> Tensor:
        """A ``(C,)`` vector broadcastable against a viewed tensor."""
        return v.repeat(self.k) if self.nhwc else v.view(1, -1, 1)


def _all_reduce(t: Tensor, group: object | None) -> Tensor:
    if group is not None:
        dist.all_reduce(t, group=group)
    return t


def _sums(layout: _Layout, xv: Tensor, group: object | None) -> tuple[Tensor, Tensor, Tensor]:
    """Global per-channel mean and (biased) variance of the viewed input, and the count.

    Two passes, as ATen's kernel: the mean, then the mean square of ``x − μ`` (no cancellation
    when ``|μ| ≫ σ``). Elementwise work runs in the input's dtype, sums accumulate in
    :attr:`_Layout.acc`, and the ranks' sums are added in float64 (two all-reduces per call).
    """
    channels = layout.shape[1]
    totals = torch.cat([layout.sum(xv), xv.new_full((1,), layout.count, dtype=layout.acc)])
    totals = _all_reduce(totals.double(), group)
    count = totals[channels]
    mean = (totals[:channels] / count).to(layout.acc)
    centred = xv - layout.per_channel(mean.to(xv.dtype))
    square = _all_reduce(layout.sum(centred.mul_(centred)).double(), group)
    return mean, (square / count).to(layout.acc), count


class _BatchNorm(torch.autograd.Function):
    """Batch norm over the batch (and ranks) with a row-view layout; see :func:`batch_norm`."""

    @staticmethod
    def forward(ctx, x, weight, bias, eps, group):
        layout = _Layout(x)
        xv = layout.view(x)
        mean, var, count = _sums(layout, xv, group)
        invstd = torch.rsqrt(var + eps)
        scale = invstd * weight.to(layout.acc)
        shift = bias.to(layout.acc) - mean * scale
        y = torch.addcmul(
            layout.per_channel(shift.to(x.dtype)), xv, layout.per_channel(scale.to(x.dtype))
        )
        ctx.save_for_backward(x, weight, mean, invstd, count)
        ctx.layout, ctx.group = layout, group
        ctx.mark_non_differentiable(mean, var, count)
        return layout.unview(y), mean, var, count

    @staticmethod
    def backward(ctx, grad, _mean, _var, _count):
        x, weight, mean, invstd, count = ctx.saved_tensors
        layout, group = ctx.layout, ctx.group
        channels, dtype = layout.shape[1], x.dtype
        count = count.to(layout.acc)
        centred = layout.view(x) - layout.per_channel(mean.to(dtype))
        gv = layout.view(grad.to(dtype))
        local = torch.cat([layout.sum(gv), layout.sum(gv * centred)])
        # this rank's γ, β gradients (DDP averages them over ranks like any parameter's)
        grad_bias = local[:channels].clone()
        grad_weight = local[channels:] * invstd
        totals = _all_reduce(local.double(), group).to(layout.acc)
        sum_g, sum_gc = totals[:channels], totals[channels:]
        # ∂x = a·(g − Σg/M − x̂·Σg·x̂/M) with a = γ/√(σ² + ε) and x̂ = (x − μ)/√(σ² + ε);
        # the mean of g is taken off first, as in ATen's kernel, so that Σ∂x (≈ 0) cancels well
        a = invstd * weight.to(layout.acc)
        slope = -(sum_gc / count) * invstd * invstd * a
        gx = torch.sub(gv, layout.per_channel((sum_g / count).to(dtype)))
        gx.mul_(layout.per_channel(a.to(dtype))).addcmul_(
            centred, layout.per_channel(slope.to(dtype))
        )
        grad_x = layout.unview(gx)
        return grad_x, grad_weight.to(weight.dtype), grad_bias.to(weight.dtype), None, None
