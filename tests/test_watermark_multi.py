"""watermark_multi: several photos under one watermark — the DIP decomposition, the joint
removal in a given box, and the box it finds itself (``task.bbox=auto``)."""

from __future__ import annotations

from pathlib import Path

import cv2
import pytest
import torch

from dipsys.errors import InputError
from dipsys.nn import NoiseSpec, SkipGenerator
from dipsys.ops.compositing import overlay_watermark
from dipsys.run import train
from dipsys.tasks import WatermarkMulti
from tests.conftest import ROOT, textured_photos

SIZE = (32, 48)


def _multi(images: int = 2) -> WatermarkMulti:
    spec = NoiseSpec("uniform", 2, 0.01)

    def factory(out_channels: int):
        return lambda: SkipGenerator(2, out_channels, channels_down=(8, 8), channels_skip=(0, 4))

    return WatermarkMulti(
        clean_generator=factory(3),
        watermark_generator=factory(3),
        mask_generator=factory(1),
        clean_input=spec,
        shared_input=spec,
        images=images,
        size=SIZE,
        loss_weights={"recon": 1.0, "smooth_watermark": 1.0, "sparse_mask": 0.05},
    )


def test_multi_image_watermark_shares_one_watermark():
    task = _multi(images=3)
    assert list(task.generators) == ["clean_1", "clean_2", "clean_3", "watermark", "mask"]
    batch = {"k": [0], "sigma": torch.tensor(0.0), "step": 0, "last": False}
    batch["target"] = torch.rand(1, 9, *SIZE)
    layers = task.decompose(task(batch["k"], batch["sigma"]), batch)
    recon = task.composite(layers)
    assert recon.shape == (1, 9, *SIZE)
    for i in range(3):
        expected = overlay_watermark(layers[f"clean_{i + 1}"], layers["watermark"], layers["mask"])
        assert torch.allclose(recon[:, 3 * i : 3 * i + 3], expected)
    assert set(task.loss_terms(layers, recon, batch)) == {
        "recon",
        "smooth_watermark",
        "sparse_mask",
    }
    mask = torch.zeros(1, 1, *SIZE)
    mask[..., :8, :8] = 0.5
    task.best = {name: torch.full((1, 3, *SIZE), 0.25) for name in task.clean_names}
    task.best |= {"watermark": torch.ones(1, 3, *SIZE), "mask": mask}
    original = torch.rand(9, 64, 96)
    exported = task.export(original)
    assert exported["clean_2"].shape == (3, 64, 96) and exported["mask"].shape == (1, 64, 96)
    assert torch.allclose(exported["clean_2"][:, 40:, 40:], original[3:6, 40:, 40:])  # kept
    assert torch.allclose(exported["clean_2"][:, :8, :8], torch.full((3, 8, 8), 0.25))
    with pytest.raises(InputError, match="at least two images"):
        _multi(images=1)


def test_watermark_multi_writes_the_output_contract(make_cfg):
    cfg = make_cfg("task=watermark_multi", "trainer.max_steps=3")
    metrics = train(cfg)
    run = Path(cfg.paths.output_dir)
    for name in ("clean_1", "clean_2", "clean_3", "watermark", "mask"):
        assert cv2.imread(str(run / "layers" / f"{name}.png")).shape[:2] == (192, 256), name
    assert {"psnr", "ssim", "input"} <= set(metrics) and metrics["steps"] == 3
    assert (run / "checkpoints" / "last.ckpt").is_file()


def test_watermark_multi_with_a_box_removes_the_logo_at_full_resolution(make_cfg):
    """The bundled three photos under one text watermark (box given): the joint removal
    inside the box, the input outside it, its figures in metrics.json."""
    box = [146, 80, 248, 121]
    cfg = make_cfg("task=watermark_multi", "trainer.max_steps=3", f"task.bbox={box}")
    metrics = train(cfg)
    run = Path(cfg.paths.output_dir)
    removal = metrics["removal"]
    assert removal["kept_input"] is False and 0.3 < removal["opacity"] < 0.6
    assert metrics["psnr"] > metrics["input"]["psnr"] + 3
    for i in (1, 2, 3):
        clean = cv2.imread(str(run / "layers" / f"clean_{i}.png"))
        image = cv2.imread(str(ROOT / "assets" / "watermark_multi" / f"image{i}.png"))
        outside = torch.ones(clean.shape[:2], dtype=torch.bool)
        outside[box[1] : box[3], box[0] : box[2]] = False
        assert (clean[outside.numpy()] == image[outside.numpy()]).all()  # untouched outside
    mask = cv2.imread(str(run / "layers" / "mask.png"), cv2.IMREAD_GRAYSCALE)
    assert mask.shape == (192, 256) and mask[: box[1]].max() == 0


def test_watermark_multi_finds_the_box_itself(make_cfg):
    """``task.bbox=auto``: the box is found on the bundled photos, then removed from as a
    given one; metrics.json says where and that it was found."""
    cfg = make_cfg("task=watermark_multi", "trainer.max_steps=3", "task.bbox=auto")
    metrics = train(cfg)
    removal = metrics["removal"]
    assert removal["box_source"] == "auto" and removal["kept_input"] is False
    x0, y0, x1, y1 = removal["box"]
    tx0, ty0, tx1, ty1 = 146, 80, 248, 121  # the bundled text watermark, with a margin
    overlap = max(0, min(x1, tx1) - max(x0, tx0)) * max(0, min(y1, ty1) - max(y0, ty0))
    union = (x1 - x0) * (y1 - y0) + (tx1 - tx0) * (ty1 - ty0) - overlap
    assert overlap / union > 0.8
    assert metrics["psnr"] > metrics["input"]["psnr"] + 3


def test_watermark_multi_box_outside_the_images_is_an_input_error(make_cfg):
    cfg = make_cfg("task=watermark_multi", "trainer.max_steps=3", "task.bbox=[200,10,300,40]")
    with pytest.raises(InputError, match="outside the 256×192 images"):
        train(cfg)
    assert not (Path(cfg.paths.output_dir) / "metrics.json").exists()


def test_watermark_multi_removes_in_the_box_once_per_run(monkeypatch):
    """The removal depends on the images only: the TensorBoard image logs that export during
    training must not run it again."""
    import dipsys.tasks.watermark_multi as module

    calls = []
    real = module.checked_remove
    monkeypatch.setattr(module, "checked_remove", lambda *a, **k: calls.append(1) or real(*a, **k))
    task = _multi(images=2)
    task.bbox = [8.0, 8.0, 40.0, 30.0]
    original = torch.rand(6, 48, 64)
    first, second = task.export(original), task.export(original)
    assert len(calls) == 1 and first["clean_1"] is second["clean_1"]
    assert torch.equal(first["clean_2"][:, :, 40:], original[3:6, :, 40:])  # outside the box
    task.export(original.clone())  # other images: removed again
    assert len(calls) == 2


def test_watermark_multi_keeps_photos_that_share_no_logo_when_it_looks_for_one():
    """``bbox="auto"`` on photos with nothing in common: some window is still the best, but
    its removal does not pass the check, and the photos come back untouched."""
    photos = textured_photos(3, 120, 160, blobs=(6, 8), grain=0.08)
    photos = torch.from_numpy(photos).float().permute(0, 3, 1, 2)  # (3, 3, H, W)
    task = _multi(images=3)
    task.locate, task.removal_max_ratio = True, 1.0  # a given box's bound would remove them
    exported = task.export(photos.reshape(9, *photos.shape[-2:]))
    assert task.removal["kept_input"] is True and task.removal["box_source"] == "auto"
    assert task.removal["max_ratio"] == 0.8  # the found box's bound
    for i in range(3):
        assert torch.equal(exported[f"clean_{i + 1}"], photos[i])
    assert exported["mask"].abs().max() == 0


def test_watermark_multi_keeps_the_photos_when_the_search_finds_nothing(monkeypatch):
    import dipsys.tasks.watermark_multi as module

    monkeypatch.setattr(module, "locate_shared_watermark", lambda images: None)
    task = _multi(images=2)
    task.locate = True
    original = torch.rand(6, 48, 64)
    exported = task.export(original)
    assert task.removal == {
        "kept_input": True,
        "box": None,
        "box_source": "auto",
        "kept_input_reason": "no shared watermark found",
    }
    assert torch.equal(exported["clean_1"], original[:3]) and exported["mask"].abs().max() == 0
