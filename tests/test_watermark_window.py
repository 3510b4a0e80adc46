"""Watermark removal at full resolution: the window the generators see, the removal by
inversion placed back into the image, and the check that keeps the input without ground truth."""

from __future__ import annotations

import pytest
import torch

from dipsys.data import SingleImageDataModule
from dipsys.data.single_image import window_region
from dipsys.errors import InputError
from dipsys.nn import NoiseSpec, SkipGenerator
from dipsys.ops.compositing import overlay_watermark
from dipsys.ops.watermark import edge_energy, place_window, removal_check, watermark_parts
from dipsys.tasks import Watermark


def test_window_region_grows_and_clips():
    assert window_region(None, 8, 72, 100) == (0, 0, 100, 72)
    assert window_region([10, 20, 50, 40], 8, 72, 100) == (2, 12, 58, 48)
    assert window_region([2.5, 60, 98, 70], 4, 72, 100) == (0, 56, 100, 72)
    with pytest.raises(InputError, match="misses"):
        window_region([200, 10, 300, 20], 0, 72, 100)
    with pytest.raises(InputError, match="data.window"):
        window_region([1, 2], 0, 72, 100)


def test_data_module_works_on_the_window(rgb_image):
    box = [40, 20, 72, 44]
    dm = SingleImageDataModule(
        str(rgb_image), max_side=128, boxes={"watermark": box}, window=box, window_margin=8
    )
    dm.prepare()
    assert dm.window == (32, 12, 80, 52)  # 48×40 pixels, worked on at 64×64 (two multiples)
    assert dm.image.shape == (3, 64, 64) and dm.original.shape == (3, 72, 100)
    assert dm.boxes["watermark"].shape == (1, 72, 100)  # the box stays whole
    aligned = dm.aligned["box_watermark"][0]
    assert aligned[:8].sum() == 0 and aligned[-8:].sum() == 0  # the margin is context
    assert aligned[20:40, 20:40].all()
    # the working image is the window's pixels, resized
    window_mean = dm.original[:, 12:52, 32:80].mean(dim=(1, 2))
    assert torch.allclose(dm.image.mean(dim=(1, 2)), window_mean, atol=0.02)


def test_place_window_puts_the_layer_back_at_full_size():
    layer = torch.ones(1, 1, 8, 8)
    placed = place_window(layer, (10, 4, 26, 20), (30, 40))
    assert placed.shape == (1, 1, 30, 40)
    assert placed.sum() == 16 * 16 and placed[0, 0, 4:20, 10:26].all()


def _smooth_photo(height: int = 48, width: int = 64) -> torch.Tensor:
    y, x = torch.meshgrid(torch.linspace(0, 1, height), torch.linspace(0, 1, width), indexing="ij")
    return torch.stack([0.2 + 0.3 * x, 0.3 + 0.2 * y, 0.5 - 0.2 * x * y])[None]


def test_check_removes_a_real_watermark_exactly():
    photo = _smooth_photo()
    box = torch.zeros(1, 1, 48, 64)
    box[..., 8:40, 8:56] = 1
    mask = torch.zeros_like(box)
    mask[..., 12:20, 12:50] = 0.3  # two bars of one opacity
    mask[..., 28:34, 12:50] = 0.3
    white = torch.ones_like(photo)
    image = overlay_watermark(photo, white, mask)
    clean, figures, reason = removal_check(image, white, mask, box, 0.97, 0.02)
    assert reason == "" and figures["parts"] == 2 and figures["parts_removed"] == 2
    assert torch.allclose(clean, photo, atol=1e-5)
    assert figures["edge_ratio"] < 0.5
    assert edge_energy(clean, box) < edge_energy(image, box)


def test_check_keeps_the_input_when_the_watermark_explains_nothing():
    photo = _smooth_photo()
    box = torch.zeros(1, 1, 48, 64)
    box[..., 8:40, 8:56] = 1
    mask = torch.zeros_like(box)
    mask[..., 12:30, 12:40] = 0.3  # a watermark the image does not have
    white = torch.ones_like(photo)
    clean, figures, reason = removal_check(photo, white, mask, box, 0.97, 0.02)
    assert "does not explain" in reason and figures["parts_removed"] == 0
    assert torch.equal(clean, photo)
    nothing = removal_check(photo, white, 0.001 * mask, box, 0.97, 0.02)
    assert "no watermark" in nothing[2] and torch.equal(nothing[0], photo)


def test_check_removes_part_by_part():
    photo = _smooth_photo()
    box = torch.ones(1, 1, 48, 64)
    real = torch.zeros_like(box)
    real[..., 6:14, 6:30] = 0.3
    image = overlay_watermark(photo, torch.ones_like(photo), real)
    mask = real.clone()
    mask[..., 30:40, 36:58] = 0.3  # a second, wrong part
    clean, figures, reason = removal_check(image, torch.ones_like(photo), mask, box, 0.97, 0.02)
    assert figures["parts"] == 2 and figures["parts_removed"] == 1 and reason == ""
    assert torch.allclose(clean[..., 6:14, 6:30], photo[..., 6:14, 6:30], atol=1e-5)
    assert torch.equal(clean[..., 28:42, 34:60], image[..., 28:42, 34:60])  # kept
    assert int(watermark_parts(mask, 0.15, 2).max()) == 2


def _task(**kwargs) -> Watermark:
    spec = NoiseSpec("uniform", 2, 0.01)

    def net(out_channels: int) -> SkipGenerator:
        return SkipGenerator(2, out_channels, channels_down=(8, 8), channels_skip=(0, 4))

    return Watermark(
        generators={"clean": net(3), "watermark": net(3), "mask": net(1)},
        inputs={"clean": spec, "watermark": spec, "mask": spec},
        size=(32, 48),
        loss_weights={"clean_outside": 1.0, "recon": 0.5},
        bbox=[8, 4, 24, 20],
        **kwargs,
    )


def test_one_opacity_over_the_shape_with_its_own_learning_rate():
    task = _task(initial_opacity=0.2, max_opacity=0.6, opacity_lr=0.05)
    assert float(task.opacity.detach()) == pytest.approx(0.2)
    box = torch.zeros(1, 1, 32, 48)
    box[..., 4:20, 8:24] = 1
    batch = {"k": [0], "sigma": torch.tensor(0.0), "step": 0, "aligned/box_watermark": box}
    layers = task.decompose(task(batch["k"], batch["sigma"]), batch)
    assert torch.allclose(layers["mask"], 0.2 * layers["shape"], atol=1e-6)
    assert float((layers["shape"] * (1 - box)).abs().sum()) == 0.0
    groups = task.configure_optimizers().param_groups
    assert len(groups[1]["params"]) == 1 and groups[1]["params"][0] is task.opacity_logit
    assert groups[1]["lr"] == 0.05
    assert all(p is not task.opacity_logit for p in groups[0]["params"])
    with pytest.raises(InputError, match="opacities"):
        _task(initial_opacity=0.7, max_opacity=0.6)
