"""Speed levers change how the generators run, never what they compute."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from hydra.utils import instantiate

from dipsys.nn import SkipGenerator
from dipsys.nn.compile import CompiledOrEager
from dipsys.nn.fused import fused_forward, fusion_groups
from dipsys.tasks.base import LayerDecomposition


def _nets(seed: int = 0) -> list[SkipGenerator]:
    torch.manual_seed(seed)
    small = {"channels_down": [8, 16, 32], "channels_skip": [0, 4, 4]}
    return [SkipGenerator(8, out, **small) for out in (3, 1, 3)]


def _grads(nets: list[SkipGenerator]) -> list[torch.Tensor]:
    return [p.grad.clone() for net in nets for p in net.parameters()]


@pytest.mark.parametrize("memory_format", [torch.contiguous_format, torch.channels_last])
def test_fused_pass_equals_separate_nets(memory_format):
    nets = _nets()
    for net in nets:
        net.to(memory_format=memory_format)
    gen = torch.Generator().manual_seed(1)
    inputs = [torch.rand(2, 8, 32, 32, generator=gen) for _ in nets]
    inputs = [z.contiguous(memory_format=memory_format) for z in inputs]
    weights = [torch.rand(out.out_channels, 32, 32, generator=gen) for out in nets]

    separate = [net(z) for net, z in zip(nets, inputs, strict=True)]
    sum((w * y).sum() for w, y in zip(weights, separate, strict=True)).backward()
    expected = _grads(nets)
    for net in nets:
        net.zero_grad()
    fused = fused_forward(nets, inputs)
    sum((w * y).sum() for w, y in zip(weights, fused, strict=True)).backward()

    for a, b in zip(separate, fused, strict=True):
        assert a.shape == b.shape
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5)
    # Biases ahead of a batch norm have a true gradient of 0: what is left is float32
    # cancellation (~1e-6 of the largest gradient), which differs between NCHW, NHWC and grouped
    # batch-norm kernels. A wrong fusion is off by O(the gradient).
    scale = max(a.abs().max().item() for a in expected)
    for a, b in zip(expected, _grads(nets), strict=True):
        torch.testing.assert_close(b, a, rtol=1e-3, atol=2e-6 * scale)


def test_fusion_groups_only_matching_architectures():
    same = {"channels_down": [8, 16], "channels_skip": [0, 4]}
    nets = {
        "clean": SkipGenerator(8, 3, **same),
        "transmission": SkipGenerator(8, 1, **same),  # differs only in the head: fuses
        "conditioned": SkipGenerator(11, 1, **same),  # another input depth
        "wide": SkipGenerator(8, 3, channels_down=[8, 32], channels_skip=[0, 4]),
        "k5": SkipGenerator(8, 3, kernel_down=5, **same),
        "plain": torch.nn.Conv2d(8, 3, 1),  # not a skip net: alone
    }
    groups = fusion_groups(nets)
    assert groups == [["clean", "transmission"], ["conditioned"], ["wide"], ["k5"], ["plain"]]


def test_eval_mode_fused_pass_uses_running_statistics():
    nets = _nets()
    z = [torch.rand(1, 8, 32, 32) for _ in nets]
    for net in nets:
        net(z[0])  # move the running statistics away from their initial values
        net.eval()
    with torch.no_grad():
        expected = [net(x) for net, x in zip(nets, z, strict=True)]
        fused = fused_forward(nets, z)
    for a, b in zip(expected, fused, strict=True):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5)


def test_compile_falls_back_to_eager(monkeypatch):
    def broken_compile(fn, **options):
        def run(*args, **kwargs):
            raise torch._dynamo.exc.InternalTorchDynamoError("no compiler here")

        return run

    monkeypatch.setattr(torch, "compile", broken_compile)
    doubled = CompiledOrEager(lambda x: 2 * x)
    assert torch.equal(doubled(torch.ones(2)), torch.full((2,), 2.0))
    assert doubled.compiled is None  # later calls go straight to eager


def test_compile_fallback_keeps_user_errors(monkeypatch):
    monkeypatch.setattr(torch, "compile", lambda fn, **options: fn)

    def fails(x):
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        CompiledOrEager(fails)(torch.ones(1))


def _task(cfg, **levers: bool) -> LayerDecomposition:
    torch.manual_seed(0)  # the same initial weights for every set of levers
    datamodule = instantiate(cfg.data)
    datamodule.prepare()
    datamodule.total_steps = 10
    task = instantiate(cfg.task.module, size=datamodule.working_size, **levers)
    return task, datamodule.batch(1)


def _step_gradient(task: LayerDecomposition, batch: dict) -> tuple[dict, torch.Tensor]:
    """Outputs and all parameter gradients (one vector) of a weighted sum of the outputs."""
    dtype = next(task.parameters()).dtype
    sigma = torch.zeros((), dtype=dtype)  # no perturbation: float64 draws differ from float32
    outputs = task(batch["k"], sigma, batch["step"], batch["target"].to(dtype))
    weights = torch.linspace(0, 1, batch["target"].shape[-1], dtype=dtype)
    sum((y * weights).sum() for y in outputs.values()).backward()
    return outputs, torch.cat([p.grad.flatten().double() for p in task.parameters()])


def test_task_levers_compute_the_same_step(make_cfg):
    """Dehazing with a learned airlight (three fusable generators), two augmentations as one
    batch: from the same weights the levers give the same outputs, and gradients as close to a
    float64 reference as a float32 pass can be.

    Gradients are compared with that reference rather than with each other: near-zero ones
    (biases before a BatchNorm, weights whose gradient is a difference of large sums) are
    rounding noise in any float32 pass. For the same reason whole runs are compared in
    scripts/bench.py, not here: Adam turns such noise into full-size steps, so any change of
    kernel (the thread count included) moves a 6-step run by ~0.2 dB.
    """
    cfg = make_cfg("task.module.airlight=learned", "data.augmentation=batch", "data.per_step=2")
    reference_task, batch = _task(cfg)
    _, reference = _step_gradient(reference_task.double(), batch)
    plain_outputs, plain = _step_gradient(*_task(cfg))
    fast_task, _ = _task(cfg, fuse_generators=True, channels_last=True)
    fast_outputs, fast = _step_gradient(fast_task, batch)

    assert fast_task.fusion == [["clean", "transmission", "airlight"]]
    head = fast_task.generators["clean"].head[0].weight
    assert head.is_contiguous(memory_format=torch.channels_last)
    for name, out in plain_outputs.items():
        torch.testing.assert_close(fast_outputs[name], out, rtol=1e-4, atol=1e-5, msg=name)
    # Measured: 1.5e-4 (plain); levers 6e-4 on one thread and 1.5e-3 on two (channels-last
    # kernels sum in another order, per thread). A wrong fusion is off by O(1).
    assert (plain - reference).norm() < 1e-3 * reference.norm()
    assert (fast - reference).norm() < 5e-3 * reference.norm()


_MMAP_PROBE = """
import ctypes, sys
import torch
from dipsys.memory import retain_freed_host_memory

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
if not hasattr(libc, "mallinfo2"):  # glibc < 2.33
    print("skip")
    sys.exit()
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "retain":
    assert retain_freed_host_memory()
before = libc.mallinfo2().hblkhd
x = torch.empty(64 * 2**20, dtype=torch.uint8)
print(libc.mallinfo2().hblkhd - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_retained_host_memory_serves_large_tensors_from_the_heap():
    def mmapped_bytes(mode: str) -> int:
        done = subprocess.run(
            [sys.executable, "-c", _MMAP_PROBE, mode], capture_output=True, text=True, check=True
        )
        if done.stdout.strip() == "skip":
            pytest.skip("glibc without mallinfo2")
        return int(done.stdout.strip())

    assert mmapped_bytes("default") >= 64 * 2**20  # glibc maps a 64 MiB tensor by itself
    assert mmapped_bytes("retain") == 0
