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
#: Values summed in a low-precision input's own dtype before the float32 sum (see _Layout.sum).
_RUN = 16


def batch_norm(
    x: Tensor,
    weight: Tensor | None,
    bias: Tensor | None,
    eps: float,
    group: object | None = None,
    running: tuple[Tensor, Tensor, float] | None = None,
) -> Tensor:
    """Training-mode batch norm of ``x`` with the batch's statistics (see the module docstring).

    Args:
        x: ``(B, C, H, W)``.
        weight, bias: ``(C,)`` affine parameters γ and β (``None``: 1 and 0).
        eps: added to the variance.
        group: a ``torch.distributed`` process group whose ranks share statistics, or ``None``.
        running: ``(running_mean, running_var, momentum)`` to update in place, as
            ``nn.BatchNorm2d`` does (unbiased variance), or ``None``.
    """
    channels_last = _is_channels_last(x)
    if group is None and not (channels_last and x.shape[1] < NHWC_SLOW_BELOW):
        mean, var, momentum = running if running is not None else (None, None, 0.0)
        return F.batch_norm(x, mean, var, weight, bias, True, momentum, eps)
    if weight is None:  # affine=False
        weight = torch.ones(x.shape[1], dtype=torch.float32, device=x.device)
    if bias is None:
        bias = torch.zeros(x.shape[1], dtype=torch.float32, device=x.device)
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

    def sum(self, t: Tensor, runs: bool = False) -> Tensor:
        """Per-channel sum of a viewed tensor in :attr:`acc` precision: ``(C,)``.

        With ``runs``, a bf16 tensor is first summed in runs of :data:`_RUN` values in its own
        dtype (ATen accumulates each in float32 and rounds once), instead of being copied to
        float32 whole. Each run's sum is then rounded relative to its own size: fine for sums
        of like-signed terms (``Σx`` with ``|μ| ≳ σ``, ``Σ(x − s)²``), not for sums that cancel.
        """
        if runs and t.dtype != self.acc:
            if self.nhwc and t.shape[0] % _RUN == 0:
                t = t.view(-1, _RUN, t.shape[1]).sum(1)
            elif not self.nhwc and t.shape[2] % _RUN == 0:
                t = t.view(t.shape[0], t.shape[1], -1, _RUN).sum(3)
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


def _work_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype the elementwise passes run in: the input's, but float32 for float16 (whose
    products of small gradients and centred values underflow)."""
    return torch.float32 if dtype == torch.float16 else dtype


def _sums(
    layout: _Layout, xv: Tensor, group: object | None
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Global per-channel mean, (biased) variance and count of the viewed input, the centring
    shift ``s`` (the mean rounded to the work dtype) and ``x − s``.

    Two passes, as ATen's kernel: the mean, then the mean square of ``x − s``, corrected by
    ``(μ − s)²``. ``x − s`` is exact where it matters (``x`` near ``μ``), so a bf16 input
    keeps the precision of ``μ`` even when ``|μ| ≫ σ``. Sums accumulate in :attr:`_Layout.acc`
    and the ranks' sums are added in float64 (two all-reduces per call).
    """
    channels = layout.shape[1]
    count = torch.full((1,), float(layout.count), dtype=torch.float64, device=xv.device)
    totals = _all_reduce(torch.cat([layout.sum(xv, runs=True).double(), count]), group)
    count = totals[channels]
    mean = totals[:channels] / count
    shift = mean.to(xv.dtype)
    centred = xv - layout.per_channel(shift)
    square = _all_reduce(layout.sum(centred * centred, runs=True).double(), group)
    var = (square / count - (mean - shift.double()).square()).clamp_min(0.0)
    return mean.to(layout.acc), var.to(layout.acc), count, shift, centred


class _BatchNorm(torch.autograd.Function):
    """Batch norm over the batch (and ranks) with a row-view layout; see :func:`batch_norm`.

    Elementwise passes run in the input's dtype (float32 for float16). Rounding stays relative
    to the output: the forward pass scales ``x − s`` (see :func:`_sums`), and the backward
    pass takes the gradient's mean off in :attr:`_Layout.acc`. ∂γ is as precise as the
    work dtype (bf16 for bf16 inputs, like the convolutions' weight gradients under autocast).
    """

    @staticmethod
    def forward(ctx, x, weight, bias, eps, group):
        layout = _Layout(x)
        if layout.count <= 1 and group is None:
            raise ValueError(f"Expected more than 1 value per channel when training, got {x.shape}")
        xv = layout.view(x).to(_work_dtype(x.dtype))
        mean, var, count, shift, centred = _sums(layout, xv, group)
        invstd = torch.rsqrt(var + eps)
        scale = invstd * weight.to(layout.acc)
        # y = (x − s)·scale + β − (μ − s)·scale: both terms have the size of the output
        offset = bias.to(layout.acc) - (mean - shift.to(layout.acc)) * scale
        work = centred.dtype
        y = torch.addcmul(
            layout.per_channel(offset.to(work)), centred, layout.per_channel(scale.to(work))
        ).to(x.dtype)
        ctx.save_for_backward(x, weight, mean, invstd, count)
        ctx.layout, ctx.group = layout, group
        ctx.mark_non_differentiable(mean, var, count)
        return layout.unview(y), mean, var, count

    @staticmethod
    def backward(ctx, grad, _mean, _var, _count):
        x, weight, mean, invstd, count = ctx.saved_tensors
        layout, group = ctx.layout, ctx.group
        channels, acc, work = layout.shape[1], layout.acc, _work_dtype(x.dtype)
        count = count.to(acc)
        shift = mean.to(work)  # the forward's centring shift s; x − μ = (x − s) − δ
        delta = mean - shift.to(acc)
        centred = layout.view(x).to(work) - layout.per_channel(shift)
        gv = layout.view(grad).to(work)
        sum_g = layout.sum(gv)
        sum_gc = layout.sum(gv * centred) - delta * sum_g  # Σ g·(x − μ)
        # this rank's γ, β gradients (DDP averages them over ranks like any parameter's)
        grad_bias, grad_weight = sum_g, sum_gc * invstd
        totals = _all_reduce(torch.cat([sum_g, sum_gc]).double(), group).to(acc)
        sum_g, sum_gc = totals[:channels], totals[channels:]
        # ∂x = a·(g − Σg/M − x̂·Σg·x̂/M) with a = γ/√(σ² + ε) and x̂ = (x − μ)/√(σ² + ε),
        # i.e. a·(g − m) + slope·(x − s) − slope·δ; the mean m of g is taken off first, as in
        # ATen's kernel, so that Σ∂x (≈ 0) cancels well
        a = invstd * weight.to(acc)
        slope = -(sum_gc / count) * invstd * invstd * a
        offset = sum_g / count + slope * delta / a.where(a != 0, 1.0)
        gx = torch.sub(gv, layout.per_channel(offset)).mul_(layout.per_channel(a))
        out = gx if gx.dtype == x.dtype else torch.empty(gx.shape, dtype=x.dtype, device=x.device)
        torch.addcmul(gx, centred, layout.per_channel(slope), out=out)
        grad_x = layout.unview(out)
        return grad_x, grad_weight.to(weight.dtype), grad_bias.to(weight.dtype), None, None
