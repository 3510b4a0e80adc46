"""SkipGenerator: parameter checksums (ALGORITHMS.md §1.1), shapes, options and errors."""

import pytest
import torch

from dipsys.nn import SkipGenerator, count_parameters

FIVE = (8, 16, 32, 64, 128)


@pytest.mark.parametrize(
    ("in_ch", "out_ch", "down", "skip", "kernel", "expected"),
    [
        (8, 3, FIVE, (0, 0, 0, 4, 4), 3, 573_187),  # dehaze J
        (8, 1, FIVE, (0, 0, 0, 4, 4), 3, 573_169),  # dehaze t
        (2, 3, FIVE, (0, 0, 0, 4, 4), 5, 1_544_787),  # transparency / watermark clean
        (3, 3, FIVE, (0, 0, 0, 4, 4), 5, 1_544_987),  # texture separation
        (2, 3, (8, 16, 32), (0, 0, 0), 3, 35_179),  # segmentation layer
        (2, 1, (8, 16, 32), (0, 0, 0), 3, 35_161),  # segmentation mask
        (2, 1, (8, 16, 32, 64), (0, 0, 0, 4), 3, 144_045),  # watermark mask
    ],
)
def test_parameter_checksums(in_ch, out_ch, down, skip, kernel, expected):
    net = SkipGenerator(
        in_ch, out_ch, channels_down=down, channels_skip=skip, kernel_down=kernel, kernel_up=kernel
    )
    assert count_parameters(net) == expected


def test_count_parameters_ignores_frozen():
    net = SkipGenerator(2, 1, channels_down=(4,), channels_skip=(0,))
    total = count_parameters(net)
    net.head[0].weight.requires_grad_(False)
    assert count_parameters(net) == total - net.head[0].weight.numel()


def test_output_shape_and_range_non_square_batch():
    torch.manual_seed(0)
    net = SkipGenerator(8, 3)
    assert net.multiple == 32
    out = net(torch.rand(2, 8, 64, 96))
    assert out.shape == (2, 3, 64, 96)
    assert out.dtype == torch.float32
    assert (out > 0).all() and (out < 1).all()


def test_channels_up_defaults_to_down_and_can_differ():
    net = SkipGenerator(2, 1, channels_down=(4, 8), channels_up=(6, 10), channels_skip=(2, 0))
    assert net(torch.rand(1, 2, 8, 12)).shape == (1, 1, 8, 12)


@pytest.mark.parametrize(
    "options",
    [
        {"upsample_mode": "nearest", "padding": "zeros", "activation": "relu", "sigmoid": False},
        {"upsample_mode": "bicubic", "padding": "replicate", "activation": "elu"},
        {"activation": "silu", "need_1x1_up": False, "kernel_skip": 3},
    ],
)
def test_options_run(options):
    net = SkipGenerator(3, 2, channels_down=(4, 8), channels_skip=(2, 2), **options)
    out = net(torch.rand(2, 3, 8, 16))
    assert out.shape == (2, 2, 8, 16)
    assert torch.isfinite(out).all()


def test_sigmoid_false_drops_the_sigmoid():
    net = SkipGenerator(2, 1, channels_down=(4,), channels_skip=(0,), sigmoid=False)
    assert not any(isinstance(m, torch.nn.Sigmoid) for m in net.modules())


def test_need_1x1_up_changes_parameter_count():
    with_1x1 = SkipGenerator(2, 1, channels_down=(4,), channels_skip=(0,))
    without = SkipGenerator(2, 1, channels_down=(4,), channels_skip=(0,), need_1x1_up=False)
    # conv 1x1 (4*4 + 4) + BN (2*4)
    assert count_parameters(with_1x1) - count_parameters(without) == 28


def test_channels_last_and_bf16_autocast():
    torch.manual_seed(0)
    net = SkipGenerator(2, 3, channels_down=(4, 8), channels_skip=(0, 2))
    z = torch.rand(2, 2, 8, 8)
    ref = net(z)
    out_cl = net(z.to(memory_format=torch.channels_last))
    torch.testing.assert_close(out_cl, ref, atol=1e-5, rtol=1e-4)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = net(z.to(memory_format=torch.channels_last))
    assert out.shape == (2, 3, 8, 8)
    out.float().mean().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_forward_rejects_indivisible_size():
    net = SkipGenerator(2, 1, channels_down=(4, 8, 16), channels_skip=(0, 0, 0))
    with pytest.raises(ValueError, match="divisible by 8"):
        net(torch.rand(1, 2, 12, 16))
    with pytest.raises(ValueError, match=r"\(B, 2, H, W\)"):
        net(torch.rand(1, 3, 16, 16))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"channels_skip": (0, 0)},
        {"channels_up": (4, 8, 16, 32)},
        {"channels_down": ()},
        {"channels_down": (4, 0, 8), "channels_skip": (0, 0, 0)},
        {"upsample_mode": "trilinear"},
        {"padding": "circular"},
        {"activation": "tanh"},
        {"kernel_down": 4},
        {"kernel_up": 0},
    ],
)
def test_invalid_arguments(kwargs):
    base = {"channels_down": (4, 8, 16), "channels_skip": (0, 0, 4)}
    with pytest.raises(ValueError):
        SkipGenerator(2, 1, **{**base, **kwargs})
