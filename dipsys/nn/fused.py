"""Several same-shaped skip generators run as one grouped pass.

A task runs two to five generators per step, most of them the same 5-level skip net that differ
only in their output width. Run one after another, each costs a full set of small kernel launches
(pads, convs, batch norms, activations, upsamplings: ~60 forward and ~100 backward ops per net),
and at DIP sizes that per-op overhead is a large share of the step. Here G such nets run as one
network whose channels are the G nets' channels side by side:

    conv:   y = conv(x, cat_g W_g, cat_g b_g, groups=G)      (group g sees only its own channels)
    BN:     per channel, so the concatenated γ, β act on each net's channels unchanged
    merge:  [skip_g, deeper_g] concatenated per group, keeping each net's channels contiguous
    head:   each net's own 1×1 conv + sigmoid on its group's channels (output widths may differ)

The parameters stay in the separate nets (checkpoints, the optimizer and per-net parameter counts
are unchanged): their weights are concatenated at every call, so autograd routes each group's
gradient back to its own net. The result equals running the nets one by one (up to float
summation order); ``tests/test_speed_levers.py`` checks it.

Shape:
    - inputs: G tensors ``(B, C_in, H, W)`` (same ``C_in`` for every net)
    - outputs: G tensors ``(B, C_out_g, H, W)``
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dipsys.nn.batch_norm import batch_norm
from dipsys.nn.skip import SkipGenerator, _SkipConcat

# Channel-wise modules that act on a group of nets exactly as on each net alone (their settings
# are checked to agree across the nets by ``architecture``).
_CHANNELWISE = (
    nn.ReflectionPad2d,
    nn.ZeroPad2d,
    nn.ReplicationPad2d,
    nn.LeakyReLU,
    nn.ReLU,
    nn.ELU,
    nn.SiLU,
    nn.Sigmoid,
    nn.Upsample,
)


def architecture(net: nn.Module) -> tuple | None:
    """A key equal for nets that can share a grouped pass, or None if ``net`` cannot join one.

    Two :class:`SkipGenerator` s fuse when every module of their bodies agrees in type, shape
    and settings (the heads may differ in output width).
    """
    if not isinstance(net, SkipGenerator):
        return None
    parts: list[object] = [net.in_channels]
    for module in net.body.modules():
        if isinstance(module, nn.Conv2d):
            parts.append(("conv", tuple(module.weight.shape), module.stride, module.padding))
        elif isinstance(module, nn.BatchNorm2d):
            parts.append(("bn", module.num_features, module.eps, module.momentum))
        elif isinstance(module, _CHANNELWISE):
            parts.append((type(module).__name__, module.extra_repr()))
        elif not isinstance(module, (nn.Sequential, _SkipConcat)):
            return None
    return tuple(parts)


def fusion_groups(nets: dict[str, nn.Module]) -> list[list[str]]:
    """Names grouped by :func:`architecture`, in first-appearance order; unfusable nets alone."""
    groups: dict[object, list[str]] = {}
    for name, net in nets.items():
        key = architecture(net)
        groups.setdefault(name if key is None else key, []).append(name)
    return list(groups.values())


def fused_forward(nets: Sequence[SkipGenerator], inputs: Sequence[Tensor]) -> list[Tensor]:
    """Run ``nets[g](inputs[g])`` for every g as one grouped pass (see the module docstring).

    Args:
        nets: generators of one :func:`architecture` (the caller checks).
        inputs: one code per net, all of one shape.

    Returns:
        One output per net.
    """
    if len(nets) == 1:
        return [nets[0](inputs[0])]
    x = torch.cat(list(inputs), dim=1)
    x = _run([net.body for net in nets], x)
    return [net.head(part) for net, part in zip(nets, x.chunk(len(nets), dim=1), strict=True)]


def _run(modules: Sequence[nn.Module], x: Tensor) -> Tensor:
    """Apply the G parallel ``modules`` to the grouped activation ``x``."""
    first, groups = modules[0], len(modules)
    if isinstance(first, nn.Sequential):
        for parts in zip(*modules, strict=True):
            x = _run(parts, x)
        return x
    if isinstance(first, _SkipConcat):
        skip = _run([m.skip for m in modules], x)
        deeper = _run([m.deeper for m in modules], x)
        # [skip_g, deeper_g] per group, so each net's channels stay contiguous for the next conv.
        batch, _, height, width = skip.shape
        merged = torch.cat(
            [
                skip.view(batch, groups, -1, height, width),
                deeper.view(batch, groups, -1, height, width),
            ],
            dim=2,
        )
        return merged.view(batch, -1, height, width)
    if isinstance(first, nn.Conv2d):
        weight = torch.cat([m.weight for m in modules])
        bias = torch.cat([m.bias for m in modules]) if first.bias is not None else None
        return F.conv2d(x, weight, bias, first.stride, first.padding, first.dilation, groups)
    if isinstance(first, nn.BatchNorm2d):
        return _batch_norm(modules, x)
    return first(x)


def _batch_norm(modules: Sequence[nn.BatchNorm2d], x: Tensor) -> Tensor:
    """Batch norm over the grouped channels.

    In training mode the batch's own statistics normalise, and the running statistics are left
    as they are: they are only read in eval mode, which dipsys tasks never enter (BatchNorm stays
    in training mode throughout, as in the reference), and updating G concatenated copies would
    cost ~10 small ops per layer. In eval mode the nets' running statistics are used.
    """
    first = modules[0]
    weight = torch.cat([m.weight for m in modules])
    bias = torch.cat([m.bias for m in modules])
    if first.training or first.running_mean is None:
        return batch_norm(x, weight, bias, first.eps, getattr(first, "group", None))
    mean = torch.cat([m.running_mean for m in modules])
    var = torch.cat([m.running_var for m in modules])
    return F.batch_norm(x, mean, var, weight, bias, False, 0.0, first.eps)
