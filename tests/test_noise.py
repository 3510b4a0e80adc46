"""make_noise / NoiseSpec (ALGORITHMS.md §1.2)."""

import dataclasses

import pytest
import torch

from dipsys.nn import NoiseSpec, make_noise


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("kind", ["uniform", "normal", "meshgrid"])
def test_shape_and_dtype(kind):
    z = make_noise(kind, 4, 6, 10, generator=_gen())
    assert z.shape == (1, 4, 6, 10)
    assert z.dtype == torch.float32


def test_uniform_range_follows_scale():
    z = make_noise("uniform", 8, 16, 16, scale=0.01, generator=_gen())
    assert z.abs().max() <= 0.005
    assert z.min() < -0.004 and z.max() > 0.004  # covers the interval, not only one side
    assert abs(z.mean().item()) < 5e-4


def test_normal_statistics():
    z = make_noise("normal", 4, 32, 32, scale=0.1, generator=_gen())
    assert abs(z.mean().item()) < 0.01
    assert abs(z.std().item() - 0.1) < 0.01


def test_meshgrid_values():
    z = make_noise("meshgrid", 4, 3, 5, scale=123.0)
    x = torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0]).expand(3, 5)
    y = torch.tensor([0.0, 0.5, 1.0]).unsqueeze(1).expand(3, 5)
    for channel, expected in enumerate([x, y, x, y]):
        torch.testing.assert_close(z[0, channel], expected)


def test_meshgrid_single_pixel_axis_is_zero():
    z = make_noise("meshgrid", 2, 1, 1)
    assert torch.equal(z, torch.zeros(1, 2, 1, 1))


@pytest.mark.parametrize("kind", ["uniform", "normal"])
def test_seeded_generator_is_deterministic(kind):
    a = make_noise(kind, 3, 8, 8, generator=_gen(7))
    b = make_noise(kind, 3, 8, 8, generator=_gen(7))
    c = make_noise(kind, 3, 8, 8, generator=_gen(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_errors():
    with pytest.raises(ValueError, match="unknown noise kind"):
        make_noise("gaussian", 2, 4, 4)
    with pytest.raises(ValueError, match="even depth"):
        make_noise("meshgrid", 3, 4, 4)
    with pytest.raises(ValueError, match="positive"):
        make_noise("uniform", 0, 4, 4)


def test_noise_spec():
    spec = NoiseSpec()
    assert (spec.kind, spec.depth, spec.scale) == ("uniform", 8, 0.01)
    z = spec.make(4, 6, generator=_gen(1))
    assert z.shape == (1, 8, 4, 6)
    assert torch.equal(z, make_noise("uniform", 8, 4, 6, 0.01, _gen(1)))
    assert NoiseSpec("meshgrid", 2).make(2, 2)[0, 0, 0, 1] == 1.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.depth = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs", [{"kind": "perlin"}, {"depth": 0}, {"kind": "meshgrid", "depth": 3}]
)
def test_noise_spec_validates_early(kwargs):
    with pytest.raises(ValueError):
        NoiseSpec(**kwargs)
