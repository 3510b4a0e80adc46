"""dipsys batch norm: its channels-last and cross-rank paths compute what F.batch_norm does."""

from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

from dipsys.nn.batch_norm import BatchNorm2d, batch_norm

CL = torch.channels_last


def _data(channels: int, batch: int = 4, side: int = 16, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, channels, side, side, generator=gen) * 2 + 3  # |μ| > σ
    g = torch.randn(batch, channels, side, side, generator=gen)
    w = torch.rand(channels, generator=gen) + 0.5
    b = torch.randn(channels, generator=gen)
    return x, g, w, b


def _forward_backward(fn, x, g, w, b):
    x, w, b = (t.detach().clone().requires_grad_() for t in (x, w, b))
    y = fn(x, w, b)
    return (y, *torch.autograd.grad(y, (x, w, b), g))


def _reference(x, w, b):
    return F.batch_norm(x, None, None, w, b, True, 0.0, 1e-5)


@pytest.mark.parametrize("channels", [2, 3, 6, 8, 12])  # 1 channel is NCHW-contiguous too
def test_channels_last_path_matches_aten(channels):
    x, g, w, b = _data(channels)
    expected = _forward_backward(_reference, x.double(), g.double(), w.double(), b.double())
    got = _forward_backward(
        lambda *a: batch_norm(*a, 1e-5), x.to(memory_format=CL), g.to(memory_format=CL), w, b
    )
    assert got[0].is_contiguous(memory_format=CL) and got[1].is_contiguous(memory_format=CL)
    for a, e in zip(got, expected, strict=True):
        torch.testing.assert_close(a.double(), e, rtol=1e-4, atol=1e-4 * e.abs().max().item())


def test_default_layout_is_aten_bit_for_bit():
    x, g, w, b = _data(8)
    got = _forward_backward(lambda *a: batch_norm(*a, 1e-5), x, g, w, b)
    expected = _forward_backward(_reference, x, g, w, b)
    for a, e in zip(got, expected, strict=True):
        assert torch.equal(a, e)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
@pytest.mark.parametrize("offset", [1.5, 30.0])  # μ/σ: a drifting bias ahead of the norm
def test_low_precision_is_as_close_as_aten(dtype, offset):
    """Output and input gradient within 3× ATen's own error against float64 (same rounded
    input), dtype and channels-last kept; the parameter gradients stay float32."""
    x, g, w, b = _data(8)
    x = (x - 3) / 2 + offset  # σ = 1
    x, g = x.to(dtype).to(memory_format=CL), g.to(dtype).to(memory_format=CL)
    exact = _forward_backward(_reference, x.double(), g.double(), w.double(), b.double())
    aten = _forward_backward(_reference, x.contiguous(), g.contiguous(), w, b)
    got = _forward_backward(lambda *a: batch_norm(*a, 1e-5), x, g, w, b)
    assert got[0].dtype == dtype and got[0].is_contiguous(memory_format=CL)
    assert got[2].dtype == torch.float32
    for ours, theirs, e in list(zip(got, aten, exact, strict=True))[:2]:
        scale = e.abs().max()
        assert (ours.double() - e).abs().max() <= 3 * (
            theirs.double() - e
        ).abs().max() + 1e-6 * scale


def test_module_follows_momentum_none_like_torch():
    x, _, _, _ = _data(8)
    ours = BatchNorm2d(8, momentum=None)
    theirs = torch.nn.BatchNorm2d(8, momentum=None)
    for scale in (1.0, 2.0, 3.0):
        ours(x.to(memory_format=CL) * scale)
        theirs(x * scale)
    for key, value in theirs.state_dict().items():
        torch.testing.assert_close(ours.state_dict()[key], value, rtol=1e-5, atol=1e-6)


def test_module_updates_running_stats_like_torch():
    x, _, _, _ = _data(8)
    ours, theirs = BatchNorm2d(8), torch.nn.BatchNorm2d(8)
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    for _ in range(3):
        ours(x.to(memory_format=CL))
        theirs(x)
    for key, value in theirs.state_dict().items():
        torch.testing.assert_close(ours.state_dict()[key], value, rtol=1e-5, atol=1e-6)
    ours.eval()
    theirs.eval()
    torch.testing.assert_close(ours(x.to(memory_format=CL)), theirs(x), rtol=1e-5, atol=1e-5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rank_worker(rank: int, world: int, port: int, channels_last: bool, out: dict) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        x, g, w, b = _data(8, batch=4)
        part = slice(rank * 2, rank * 2 + 2)  # each rank holds half of the batch
        xs, gs = x[part], g[part]
        if channels_last:
            xs, gs = xs.to(memory_format=CL), gs.to(memory_format=CL)
        # the loss Σ g·y splits over the ranks' halves; γ, β gradients add up over the ranks
        y, gx, gw, gb = _forward_backward(
            lambda *a: batch_norm(*a, 1e-5, group=dist.group.WORLD), xs, gs, w, b
        )
        dist.all_reduce(gw)
        dist.all_reduce(gb)
        module = BatchNorm2d(8)
        module.group = dist.group.WORLD
        module(xs)
        running = (module.running_mean, module.running_var)
        out[rank] = tuple(t.detach() for t in (y, gx, gw, gb, *running))
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize("channels_last", [False, True])
def test_ranks_sharing_statistics_equal_one_process(channels_last):
    world = 2
    with mp.Manager() as manager:
        out = manager.dict()
        mp.spawn(_rank_worker, args=(world, _free_port(), channels_last, out), nprocs=world)
        results = dict(out)
    x, g, w, b = _data(8, batch=4)
    y, gx, gw, gb = _forward_backward(_reference, x.double(), g.double(), w.double(), b.double())
    got_y = torch.cat([results[r][0] for r in range(world)])
    got_gx = torch.cat([results[r][1] for r in range(world)])
    for a, e in ((got_y, y), (got_gx, gx), (results[0][2], gw), (results[0][3], gb)):
        torch.testing.assert_close(a.double(), e, rtol=1e-4, atol=1e-4 * e.abs().max().item())
    one = torch.nn.BatchNorm2d(8)
    one(x)
    for rank in range(world):  # every rank's running statistics are the whole batch's
        torch.testing.assert_close(results[rank][4], one.running_mean, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(results[rank][5], one.running_var, rtol=1e-5, atol=1e-6)
