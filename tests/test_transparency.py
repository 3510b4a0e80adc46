"""Transparency separation: compositing, opacity mapping, multi-image data and the task runs."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from dipsys.data import MultiImageDataModule
from dipsys.errors import InputError
from dipsys.nn import NoiseSpec, SkipGenerator
from dipsys.ops.compositing import alpha_blend, mixing_weight, solve_mixtures
from dipsys.run import train
from dipsys.tasks import Transparency
from tests.conftest import write_png

SIZE = (32, 48)


def _task(mixtures: int = 2, **kwargs) -> Transparency:
    spec = NoiseSpec("uniform", 2, 0.01)
    return Transparency(
        layer_generator=lambda: SkipGenerator(2, 3, channels_down=(8, 8), channels_skip=(0, 4)),
        alpha_generator=lambda: SkipGenerator(2, 1, channels_down=(4, 4), channels_skip=(0, 0)),
        layer_input=spec,
        alpha_input=spec,
        mixtures=mixtures,
        size=SIZE,
        loss_weights={"recon": 1.0, "exclusion": 0.1, "alpha_prior": 0.5},
        **kwargs,
    )


def _batch(task: Transparency, step: int = 0, target: torch.Tensor | None = None) -> dict:
    if target is None:
        target = torch.rand(1, 3 * task.mixtures, *SIZE)
    return {"k": [0], "sigma": torch.tensor(0.0), "step": step, "last": False, "target": target}


def test_mixing_weight_reads_the_centre_pixel_into_the_range():
    amap = torch.zeros(2, 1, 5, 6)
    amap[0, 0, 2, 3], amap[1, 0, 2, 3] = 1.0, 0.5
    alpha = mixing_weight(amap, 0.05, 0.95)
    assert alpha.shape == (2, 1, 1, 1)
    assert alpha.flatten().tolist() == pytest.approx([0.95, 0.5])
    assert float(mixing_weight(torch.zeros(1, 1, 4, 4))) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="low < high"):
        mixing_weight(amap, 0.6, 0.4)


def test_composite_blends_each_mixture_with_its_own_opacity():
    task = _task(mixtures=2)
    batch = _batch(task)
    layers = task.decompose(task(batch["k"], batch["sigma"]), batch)
    assert layers["alpha"].shape == (1, 2, *SIZE)
    recon = task.composite(layers)
    assert recon.shape == (1, 6, *SIZE)
    for i in range(2):
        alpha = layers["alpha"][:, i : i + 1, :1, :1]
        expected = alpha_blend(layers["layer1"], layers["layer2"], alpha)
        assert torch.allclose(recon[:, 3 * i : 3 * i + 3], expected)
        assert 0.05 <= float(alpha.detach()) <= 0.95


def test_loss_sums_the_mixtures_and_the_opacity_pull_switches_off():
    task = _task(mixtures=2, alpha_prior_steps=10)
    target = torch.rand(1, 6, *SIZE)
    for step, pulled in ((0, True), (10, False)):
        batch = _batch(task, step, target)
        layers = task.decompose(task(batch["k"], batch["sigma"]), batch)
        recon = task.composite(layers)
        terms = task.loss_terms(layers, recon, batch)
        assert set(terms) == {"recon", "exclusion", "alpha_prior"}
        expected = sum(
            torch.nn.functional.mse_loss(recon[:, i : i + 3], target[:, i : i + 3]) for i in (0, 3)
        )
        assert torch.allclose(terms["recon"], expected)
        assert (float(terms["alpha_prior"].detach()) > 0) == pulled


def test_report_uses_the_better_layer_assignment():
    task = _task(mixtures=1)
    task.best = {"alpha": torch.full((1, 1, *SIZE), 0.3)}
    a, b = torch.rand(3, 16, 16), torch.rand(3, 16, 16)
    noisy = (a + 0.01 * torch.randn_like(a)).clamp(0, 1)

    class Data:
        gt, gt2 = noisy, b

    swapped = task.report({"layer1": b, "layer2": a}, Data())
    assert swapped["assignment"] == "swapped" and swapped["alpha"] == [0.3]
    assert swapped["psnr"] > 30 and swapped["psnr2"] == float("inf")
    direct = task.report({"layer1": a, "layer2": b}, Data())
    assert direct["assignment"] == "direct" and direct["psnr"] == swapped["psnr"]
    Data.gt = Data.gt2 = None
    assert task.report({"layer1": a, "layer2": b}, Data()) == {
        "alpha": [0.3],
        "layers_from": "generators",
    }


def test_export_solves_the_layers_from_two_mixtures_at_full_size():
    layer1, layer2 = torch.rand(3, 40, 60), torch.rand(3, 40, 60)
    original = torch.cat([alpha_blend(layer1, layer2, a) for a in (0.3, 0.6)])
    task = _task(mixtures=2)
    alpha = torch.tensor([0.3, 0.6]).view(1, 2, 1, 1).expand(1, 2, *SIZE)
    task.best = {
        "alpha": alpha,
        "layer1": torch.zeros(1, 3, *SIZE),
        "layer2": torch.zeros(1, 3, *SIZE),
    }
    exported = task.export(original)
    assert task.layers_from == "solved"
    assert torch.allclose(exported["layer1"], layer1, atol=1e-5)
    assert torch.allclose(exported["layer2"], layer2, atol=1e-5)
    task.best["alpha"] = torch.full((1, 2, *SIZE), 0.5)  # equal opacities: nothing to solve
    exported = task.export(original)
    assert task.layers_from == "generators" and exported["layer1"].shape == (3, 40, 60)
    assert float(exported["layer1"].abs().max()) == 0.0
    with pytest.raises(ValueError, match="must differ"):
        solve_mixtures(original.view(2, 3, 40, 60), torch.tensor([0.4, 0.4]))


def test_bad_options():
    with pytest.raises(InputError, match="at least one mixture"):
        _task(mixtures=0)
    with pytest.raises(InputError, match="alpha_range"):
        _task(alpha_range=(0.9, 0.1))


def test_multi_image_data_stacks_images_on_channels(rgb_image, tmp_path):
    second = write_png(tmp_path / "second.png", np.full((72, 100, 3), 200, np.uint8))
    dm = MultiImageDataModule([str(rgb_image), str(second)], max_side=64)
    dm.prepare()
    assert dm.num_images == 2 and dm.original.shape == (6, 72, 100)
    first, other = dm.split(dm.original)
    assert torch.allclose(other, torch.full_like(other, 200 / 255))
    assert dm.image.shape[0] == 6
    other_size = write_png(tmp_path / "small.png", np.zeros((40, 50, 3), np.uint8))
    with pytest.raises(InputError, match="50×40"):
        MultiImageDataModule([str(rgb_image), str(other_size)]).prepare()
    with pytest.raises(InputError, match="data.images"):
        MultiImageDataModule([str(rgb_image)], image=str(rgb_image))
    with pytest.raises(InputError, match="list of image paths"):
        MultiImageDataModule(str(rgb_image))


def _check_run(cfg, metrics: dict, layers=("layer1", "layer2")) -> Path:
    run = Path(cfg.paths.output_dir)
    for name in layers:
        image = cv2.imread(str(run / "layers" / f"{name}.png"))
        assert image.shape[:2] == (192, 256), name  # the sample's original size
    assert json.loads((run / "metrics.json").read_text()) == metrics
    assert list((run / "tb").glob("events.out.tfevents.*"))
    checkpoint = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] == cfg.trainer.max_steps
    return run


def test_transparency_pair_writes_the_output_contract(make_cfg):
    cfg = make_cfg("task=transparency_pair")
    metrics = train(cfg)
    _check_run(cfg, metrics)
    for key in ("psnr", "ssim", "psnr2", "ssim2", "assignment", "psnr_recon", "input"):
        assert key in metrics, key
    assert metrics["task"] == "transparency_pair" and len(metrics["alpha"]) == 2
    gap = abs(metrics["alpha"][0] - metrics["alpha"][1])
    solved = cfg.task.module.solve_layers and gap >= cfg.task.module.min_alpha_gap
    assert metrics["layers_from"] == ("solved" if solved else "generators")


def test_single_transparency_runs_and_needs_matching_data(make_cfg):
    cfg = make_cfg("task=transparency")
    metrics = train(cfg)
    _check_run(cfg, metrics)
    assert len(metrics["alpha"]) == 1 and metrics["layers_from"] == "generators"
    with pytest.raises(InputError, match="2 mixture"):
        train(make_cfg("task=transparency", "task.module.mixtures=2"))


def test_working_size_floor_follows_the_generators(make_cfg):
    from hydra.utils import instantiate

    cfg = make_cfg("task=transparency")  # debug=ci: data.max_side=64, the task's min_side=96
    dm = instantiate(cfg.data)
    assert min(dm.working_size) == 96
    with pytest.raises(Exception) as caught:
        instantiate(cfg.task.module, size=(64, 64))
    error = caught.value
    while error is not None and not isinstance(error, InputError):
        error = error.__cause__ or error.__context__
    assert error is not None and "at least 96 pixels" in str(error)


def _with_best(task: Transparency, alphas: list[float]) -> Transparency:
    task.best = {
        "alpha": torch.tensor(alphas).view(1, -1, 1, 1),
        "layer1": torch.rand(1, 3, *SIZE),
        "layer2": torch.rand(1, 3, *SIZE),
    }
    return task


def test_report_scores_the_better_assignment_of_layers_to_truths():
    from types import SimpleNamespace

    truth1, truth2 = torch.rand(3, *SIZE), torch.rand(3, *SIZE)
    task = _with_best(_task(mixtures=2), [0.7, 0.3])
    data = SimpleNamespace(gt=truth1, gt2=truth2)
    swapped = task.report({"layer1": truth2, "layer2": truth1}, data)
    assert swapped["assignment"] == "swapped" and swapped["psnr"] > 60 and swapped["psnr2"] > 60
    direct = task.report({"layer1": truth1, "layer2": truth2.flip(-1)}, data)
    assert direct["assignment"] == "direct" and direct["psnr"] > 60 > direct["psnr2"]


def test_export_solves_the_mixtures_only_when_the_opacities_differ_enough():
    layer1, layer2 = torch.rand(3, *SIZE), torch.rand(3, *SIZE)
    mixtures = torch.cat([alpha_blend(layer1, layer2, a) for a in (0.7, 0.3)])
    task = _with_best(_task(mixtures=2, min_alpha_gap=0.2), [0.7, 0.3])
    solved = task.export(mixtures)
    assert task.layers_from == "solved"
    assert torch.allclose(solved["layer1"], layer1, atol=1e-4)
    _with_best(task, [0.52, 0.48]).export(mixtures)
    assert task.layers_from == "generators"
