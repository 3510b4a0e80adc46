"""The dehazing task's equations, without a Trainer."""

from __future__ import annotations

import pytest
import torch
from torchmetrics.functional.image import peak_signal_noise_ratio

from dipsys.data.synthetic import hazy_image, smooth_depth
from dipsys.errors import InputError
from dipsys.nn import NoiseSpec, SkipGenerator
from dipsys.ops.dihedral import dihedral
from dipsys.ops.haze import add_haze
from dipsys.tasks import Dehaze

SIZE = (32, 48)


def _generator(out_channels: int) -> SkipGenerator:
    return SkipGenerator(8, out_channels, channels_down=(8, 8), channels_skip=(0, 4))


def _task(**kwargs) -> Dehaze:
    spec = NoiseSpec("uniform", 8, 0.1)
    return Dehaze(
        generators={"clean": _generator(3), "transmission": _generator(1)},
        inputs={"clean": spec, "transmission": spec, "airlight": NoiseSpec("meshgrid", 8)},
        airlight_generator=lambda: _generator(3),
        size=SIZE,
        loss_weights={
            "recon": 1.0,
            "smooth_t": 0.005,
            "smooth_airlight": 0.1,
            "airlight_anchor": 1.0,
            "transmission_prior": 1.0,
        },
        **kwargs,
    )


def test_composite_is_the_haze_model():
    task = _task(airlight_value=[0.8, 0.85, 0.9])
    batch = {"k": [0, 2], "sigma": torch.tensor(0.01), "step": 0, "last": False}
    layers = task.decompose(task(batch["k"], batch["sigma"]), batch)
    assert layers["clean"].shape == (2, 3, *SIZE) and layers["transmission"].shape == (2, 1, *SIZE)
    expected = add_haze(layers["clean"], layers["transmission"], layers["airlight"])
    assert torch.allclose(task.composite(layers), expected)
    assert torch.allclose(layers["airlight"][0, :, 0, 0], torch.tensor([0.8, 0.85, 0.9]))


def test_learned_airlight_adds_its_terms_and_anchor_switches_off():
    task = _task(airlight="learned", airlight_value=[0.8, 0.8, 0.8], anchor_steps=10)
    assert "airlight" in task.generators
    target = torch.rand(1, 3, *SIZE)
    for step, anchored in ((0, True), (10, False)):
        batch = {
            "k": [0],
            "sigma": torch.tensor(0.0),
            "step": step,
            "last": False,
            "target": target,
        }
        layers = task.decompose(task(batch["k"], batch["sigma"]), batch)
        terms = task.loss_terms(layers, task.composite(layers), batch)
        assert {"smooth_airlight", "airlight_anchor"} <= set(terms)
        assert (float(terms["airlight_anchor"].detach()) > 0) == anchored


def test_export_inverts_the_haze_model_at_original_size():
    clean = torch.rand(3, 4, 6)
    clean = torch.nn.functional.interpolate(clean[None], size=(64, 96), mode="bicubic")[0]
    clean = clean.clamp(0, 1)
    haze = hazy_image(clean, smooth_depth(64, 96, seed=1), beta=1.0, airlight=(0.8, 0.85, 0.9))
    task = _task(airlight_value=[0.8, 0.85, 0.9], guided_eps=1e-6)
    small = torch.nn.functional.interpolate(haze["transmission"][None], size=SIZE, mode="area")
    task.best = {"transmission": small, "airlight": haze["airlight"][None].expand(1, 3, *SIZE)}
    layers = task.export(haze["hazy"])
    assert layers["clean"].shape == (3, 64, 96) and layers["transmission"].shape == (1, 64, 96)
    psnr_clean = peak_signal_noise_ratio(layers["clean"][None], clean[None], data_range=1.0)
    psnr_hazy = peak_signal_noise_ratio(haze["hazy"][None], clean[None], data_range=1.0)
    assert psnr_clean > psnr_hazy + 10


def test_bad_options():
    with pytest.raises(InputError, match="airlight"):
        _task(airlight="sometimes")
    with pytest.raises(InputError, match="3 numbers"):
        _task(airlight_value=[0.5, 0.5])


def test_airlight_estimator_is_selectable(make_cfg):
    from dipsys.run import train

    metrics = train(make_cfg("task.module.airlight_estimator=haze_lines"))
    assert set(metrics["baselines"]) == {"dcp", "nonlocal"}
    with pytest.raises(InputError, match="airlight_estimator"):
        train(make_cfg("task.module.airlight_estimator=brightest", name="bad"))


@pytest.mark.parametrize("ks", [[0, 2, 4, 6], [1, 3, 5, 7]])
def test_an_airlight_map_follows_the_batch_orientation(ks):
    """A spatially varying A₀ (the banded map) is transformed with each augmented target."""
    task = _task(airlight_value=[0.8, 0.85, 0.9])
    rows = torch.linspace(0.5, 1.0, SIZE[0]).view(1, 1, -1, 1)
    task.airlight0 = (rows * torch.tensor([1.0, 0.9, 0.8]).view(1, 3, 1, 1)).expand(1, 3, *SIZE)
    batch = {"k": ks, "sigma": torch.tensor(0.0), "step": 0, "last": False}
    layers = task.decompose(task(ks, batch["sigma"]), batch)
    for i, k in enumerate(ks):
        assert torch.equal(layers["airlight"][i], dihedral(task.airlight0[0], k))
