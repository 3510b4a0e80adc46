"""Memory a run needs, and the largest working size that fits a budget.

A step keeps every generator's activations for the backward pass; they grow with the working
pixels, h·w, times the transforms per step (or frames). :func:`training_bytes` measures them with
a probe: one forward of each generator at a small size under
``torch.autograd.graph.saved_tensors_hooks``, counting the bytes autograd saves, scaled to the
working size, plus parameters, gradients and Adam's two moments. The results are exported at the
input's original size, which costs about :data:`EXPORT_BYTES_PER_PIXEL` bytes per original pixel
(measured: 125 for dehazing a 6000×4000 photo), whatever the working size.
"""

from __future__ import annotations

import ctypes
import logging
import math
import os
from collections.abc import Iterable, Mapping

import torch
from torch import nn

log = logging.getLogger(__name__)

#: host memory per original pixel for reading, exporting and scoring at the original size
EXPORT_BYTES_PER_PIXEL = 160
#: margin for the backward pass's transient gradients and allocator slack; with it the estimate
#: was 1.4–1.7× the measured CPU peak (dehaze, transparency at 1536×1024): safe, not tight
BACKWARD_FACTOR = 1.5
#: share of the free memory an ``auto`` budget takes
AUTO_SHARE = 0.7


def available_bytes(device: torch.device) -> int:
    """Free memory of ``device``: the CUDA allocator's view, else the host's MemAvailable."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def budget_bytes(budget_gib: float | str | None, device: torch.device) -> int | None:
    """The budget in bytes: a number of GiB, ``auto`` (a share of what is free) or None (off)."""
    if budget_gib is None:
        return None
    if budget_gib == "auto":
        return int(AUTO_SHARE * available_bytes(device))
    return int(float(budget_gib) * 2**30)


def _first_conv(net: nn.Module) -> nn.Conv2d:
    return next(m for m in net.modules() if isinstance(m, nn.Conv2d))


def _saved_bytes(net: nn.Module, batch: int, side: int) -> int:
    """Bytes autograd saves for one forward of ``net`` on a (batch, C, side, side) input."""
    storages: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    param = next(net.parameters())
    z = torch.zeros(batch, _first_conv(net).in_channels, side, side, dtype=param.dtype)
    with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        output = net(z.to(param.device))
    return sum(storages.values()) + output.numel() * output.element_size()


def training_bytes(
    generators: Mapping[str, nn.Module] | Iterable[nn.Module],
    size: tuple[int, int],
    batch: int = 1,
) -> int:
    """Estimated peak memory of one training step at working size ``size``.

    Args:
        generators: the task's generators (a probe task's: the probe updates BatchNorm's
            running statistics).
        size: the working size (h, w).
        batch: generator inputs per step (transforms per step, or video frames).

    Returns:
        Bytes: activations (× :data:`BACKWARD_FACTOR`) plus 4× the parameters (weights,
        gradients, Adam's two moments).
    """
    # nn.ModuleDict is no collections.abc.Mapping, but has values()
    nets = list(generators.values()) if hasattr(generators, "values") else list(generators)
    pixels = size[0] * size[1]
    total = 0
    # The probe must not move the seeded stream the run's weights are drawn from.
    with torch.random.fork_rng(devices=[]):
        for net in nets:
            multiple = int(getattr(net, "multiple", 1))
            side = max(4 * multiple, -(-int(getattr(net, "min_side", 1)) // multiple) * multiple)
            probe = _saved_bytes(net, 1, side)
            total += BACKWARD_FACTOR * probe * batch * pixels / side**2
            total += 4 * sum(p.numel() * p.element_size() for p in net.parameters())
    return int(total)


def export_bytes(height: int, width: int, images: int = 1) -> int:
    """Estimated host memory for the work at the original size (reading, export, metrics)."""
    return EXPORT_BYTES_PER_PIXEL * height * width * images


def fitting_side(estimate: int, budget: int, longest: int) -> int:
    """The longest working side at which an ``estimate`` made at ``longest`` fits ``budget``.

    Memory grows with the pixel count, so the side scales with the square root of the ratio;
    5% is kept in reserve for the rounding of sides to multiples.
    """
    return max(1, math.floor(longest * math.sqrt(0.95 * budget / estimate)))


def gib(count: int) -> str:
    """Bytes as GiB with two decimals, for messages."""
    return f"{count / 2**30:.2f} GiB"


#: glibc ``mallopt`` parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_MAX = -1, -4


def retain_freed_host_memory() -> bool:
    """Keep memory that CPU tensors free inside the process for the next step to reuse.

    glibc serves allocations above a threshold (at most 32 MiB) with ``mmap`` and unmaps them on
    free, and trims the heap's top: each training step's activations then come back as fresh
    pages that the kernel faults in and zeroes, a few ms per ~17 MB activation at 256²×8
    augmentations. Here every allocation comes from the heap, which is never trimmed: the
    resident size stays at its peak instead of dropping between steps, and can exceed the
    usual peak where the heap fragments (the peak RSS measured at 1024² is in the README).
    Process-wide and irreversible: in a Hydra multirun launched in one process, later jobs keep
    it. Returns False (and changes nothing) where the C library is not glibc.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
