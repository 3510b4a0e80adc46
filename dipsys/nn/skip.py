"""The Deep Image Prior "skip" encoder-decoder used by every Double-DIP generator.

The network is a U-Net-like hourglass: each level halves the resolution with a strided conv,
recurses into the next level, upsamples by 2 and merges with an optional 1x1 skip branch. Layer
order, channel bookkeeping and defaults follow the Double-DIP reference (``net/skip_model.py``), so
trainable-parameter counts match the checksums of ALGORITHMS.md §1.1.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import torch
from torch import Tensor, nn

from dipsys.nn.batch_norm import BatchNorm2d


class _KeepDtype:
    """Mixin for pads: run in the input's dtype. CPU autocast would pad bf16 activations in
    float32, and the next convolution would cast the padded copy back (a full extra pass)."""

    def forward(self, x: Tensor) -> Tensor:
        with torch.autocast(x.device.type, enabled=False):
            return super().forward(x)


class ReflectionPad2d(_KeepDtype, nn.ReflectionPad2d):
    """``nn.ReflectionPad2d`` in the input's dtype under autocast."""


class ZeroPad2d(_KeepDtype, nn.ZeroPad2d):
    """``nn.ZeroPad2d`` in the input's dtype under autocast."""


class ReplicationPad2d(_KeepDtype, nn.ReplicationPad2d):
    """``nn.ReplicationPad2d`` in the input's dtype under autocast."""


_PADDINGS = {
    "reflection": ReflectionPad2d,
    "zeros": ZeroPad2d,
    "replicate": ReplicationPad2d,
}
_ACTIVATIONS = {
    "leaky_relu": partial(nn.LeakyReLU, 0.2),
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "silu": nn.SiLU,
}
_UPSAMPLE_MODES = ("bilinear", "nearest", "bicubic")


def count_parameters(module: nn.Module) -> int:
    """Number of trainable scalars in ``module`` (parameters with ``requires_grad``)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


class _SkipConcat(nn.Module):
    """Runs a skip branch and a deeper branch on the same input and stacks them as [skip, deeper].

    Shape:
        - Input: ``(B, C, H, W)``
        - Output: ``(B, C_skip + C_deeper, H, W)``
    """

    def __init__(self, skip: nn.Module, deeper: nn.Module) -> None:
        super().__init__()
        self.skip = skip
        self.deeper = deeper

    def forward(self, x: Tensor) -> Tensor:
        skip, deeper = self.skip(x), self.deeper(x)
        # The reference center-crops when sizes differ; SkipGenerator.forward only accepts sizes
        # divisible by 2**levels, for which both branches always agree.
        assert skip.shape[-2:] == deeper.shape[-2:], (skip.shape, deeper.shape)
        return torch.cat([skip, deeper], dim=1)


class SkipGenerator(nn.Module):
    """DIP skip encoder-decoder mapping a fixed code ``z`` to an image.

    With ``n = len(channels_down)`` levels, level ``i`` computes (``d, u, s`` = its down, up and
    skip widths; ``k`` = the width coming back from level ``i+1``, or ``d`` at the deepest level)::

        deeper(x) = Up2(level_{i+1}(act(BN(conv_d(act(BN(conv_d^{stride 2}(x))))))))
        merged(x) = BN([act(BN(conv_1x1^s(x))), deeper(x)])          # skip only if s > 0
        level_i(x) = act(BN(conv_1x1^u(act(BN(conv_u(merged(x)))))))

    and the output is ``sigmoid(conv_1x1(level_0(z)))``. Every conv with kernel ``k > 1`` is
    preceded by a ``(k - 1) // 2`` padding; all convs have a bias.

    Args:
        in_channels: Depth of the input code ``z``.
        out_channels: Channels of the produced image.
        channels_down: Encoder widths, one per level.
        channels_up: Decoder widths, one per level (``None``: same as ``channels_down``).
        channels_skip: Skip-branch widths, one per level (0 disables that level's skip).
        kernel_down: Kernel size of the encoder convs (odd).
        kernel_up: Kernel size of the first decoder conv of each level (odd).
        kernel_skip: Kernel size of the skip convs (odd).
        upsample_mode: ``"bilinear"``, ``"nearest"`` or ``"bicubic"`` (``align_corners=True``
            for the interpolating modes).
        padding: ``"reflection"``, ``"zeros"`` or ``"replicate"``.
        activation: ``"leaky_relu"`` (slope 0.2), ``"relu"``, ``"elu"`` or ``"silu"``.
        sigmoid: Squash the output into ``(0, 1)``.
        need_1x1_up: Append the 1x1 conv + BN + activation to each decoder level.

    Raises:
        ValueError: On mismatched lengths, non-positive widths, even kernels or unknown modes.

    Shape:
        - Input: ``(B, in_channels, H, W)`` with ``H`` and ``W`` divisible by :attr:`multiple`.
        - Output: ``(B, out_channels, H, W)``.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        channels_down: Sequence[int] = (8, 16, 32, 64, 128),
        channels_up: Sequence[int] | None = None,
        channels_skip: Sequence[int] = (0, 0, 0, 4, 4),
        kernel_down: int = 3,
        kernel_up: int = 3,
        kernel_skip: int = 1,
        upsample_mode: str = "bilinear",
        padding: str = "reflection",
        activation: str = "leaky_relu",
        sigmoid: bool = True,
        need_1x1_up: bool = True,
    ) -> None:
        super().__init__()
        down = tuple(int(c) for c in channels_down)
        up = down if channels_up is None else tuple(int(c) for c in channels_up)
        skip = tuple(int(c) for c in channels_skip)
        kernels = {"down": kernel_down, "up": kernel_up, "skip": kernel_skip}
        _validate(in_channels, out_channels, down, up, skip, kernels)
        _check_choice("upsample_mode", upsample_mode, _UPSAMPLE_MODES)
        _check_choice("padding", padding, tuple(_PADDINGS))
        _check_choice("activation", activation, tuple(_ACTIVATIONS))

        self.in_channels = in_channels
        self.out_channels = out_channels
        self.levels = len(down)
        self._padding = _PADDINGS[padding]
        self._activation = _ACTIVATIONS[activation]
        self._kernels = kernels
        self._upsample = {
            "scale_factor": 2,
            "mode": upsample_mode,
            "align_corners": None if upsample_mode == "nearest" else True,
        }
        self._need_1x1_up = need_1x1_up

        # Build from the deepest level outward: each level wraps the one below it.
        inner: nn.Module | None = None
        for i in reversed(range(self.levels)):
            level_in = in_channels if i == 0 else down[i - 1]
            inner_out = down[i] if inner is None else up[i + 1]
            inner = self._level(level_in, down[i], up[i], skip[i], inner, inner_out)
        head: list[nn.Module] = [nn.Conv2d(up[0], out_channels, kernel_size=1)]
        if sigmoid:
            head.append(nn.Sigmoid())
        self.body = inner
        self.head = nn.Sequential(*head)

    @property
    def multiple(self) -> int:
        """``H`` and ``W`` of the input must be divisible by this (``2 ** levels``)."""
        return 2**self.levels

    @property
    def min_side(self) -> int:
        """The smallest ``H``, ``W`` it accepts: the deepest level's reflection padding of
        ``(kernel_down - 1) / 2`` needs more pixels than that there."""
        return self.multiple * (self._kernels["down"] // 2 + 1)

    def forward(self, z: Tensor) -> Tensor:
        """Map the code ``z`` of shape ``(B, in_channels, H, W)`` to ``(B, out_channels, H, W)``."""
        if z.dim() != 4 or z.shape[1] != self.in_channels:
            raise ValueError(
                f"SkipGenerator expects input (B, {self.in_channels}, H, W), got {tuple(z.shape)}"
            )
        height, width = z.shape[-2:]
        if height % self.multiple or width % self.multiple:
            raise ValueError(
                f"SkipGenerator with {self.levels} levels needs H and W divisible by "
                f"{self.multiple}, got H={height}, W={width}; crop or pad the input first"
            )
        return self.head(self.body(z))

    def _conv_block(self, c_in: int, c_out: int, kernel: int, stride: int = 1) -> nn.Sequential:
        """[pad] -> conv -> BN -> activation."""
        layers: list[nn.Module] = []
        if kernel > 1:
            layers.append(self._padding((kernel - 1) // 2))
        layers += [
            nn.Conv2d(c_in, c_out, kernel, stride=stride),
            BatchNorm2d(c_out),
            self._activation(),
        ]
        return nn.Sequential(*layers)

    def _level(
        self,
        c_in: int,
        down: int,
        up: int,
        skip: int,
        inner: nn.Module | None,
        inner_out: int,
    ) -> nn.Sequential:
        """One hourglass level, ``inner`` being the (already built) next level or ``None``."""
        kernels = self._kernels
        deeper = [
            self._conv_block(c_in, down, kernels["down"], stride=2),
            self._conv_block(down, down, kernels["down"]),
        ]
        if inner is not None:
            deeper.append(inner)
        deeper.append(nn.Upsample(**self._upsample))
        merged: nn.Module = nn.Sequential(*deeper)
        if skip > 0:
            merged = _SkipConcat(self._conv_block(c_in, skip, kernels["skip"]), merged)
        layers = [
            merged,
            BatchNorm2d(skip + inner_out),
            self._conv_block(skip + inner_out, up, kernels["up"]),
        ]
        if self._need_1x1_up:
            layers.append(self._conv_block(up, up, 1))
        return nn.Sequential(*layers)


def _validate(
    in_channels: int,
    out_channels: int,
    down: tuple[int, ...],
    up: tuple[int, ...],
    skip: tuple[int, ...],
    kernels: dict[str, int],
) -> None:
    if in_channels < 1 or out_channels < 1:
        raise ValueError(
            f"in_channels and out_channels must be positive, got {in_channels}, {out_channels}"
        )
    if not down:
        raise ValueError("channels_down must name at least one level")
    if not len(down) == len(up) == len(skip):
        raise ValueError(
            "channels_down, channels_up and channels_skip must have equal lengths, got "
            f"{len(down)}, {len(up)}, {len(skip)}"
        )
    if min(down + up) < 1 or min(skip) < 0:
        raise ValueError(
            "channels_down/channels_up must be positive and channels_skip non-negative, got "
            f"down={down}, up={up}, skip={skip}"
        )
    for name, kernel in kernels.items():
        # Even kernels with (k - 1) // 2 padding would shrink the maps and break the merge.
        if kernel < 1 or kernel % 2 == 0:
            raise ValueError(f"kernel_{name} must be a positive odd integer, got {kernel}")


def _check_choice(name: str, value: str, known: tuple[str, ...]) -> None:
    if value not in known:
        raise ValueError(f"unknown {name} {value!r}; expected one of {', '.join(known)}")
