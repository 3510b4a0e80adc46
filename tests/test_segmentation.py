"""Segmentation tasks: the model, its two-stage schedule, hints and the run through train()."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from dipsys.data import SingleImageDataModule
from dipsys.data.io import write_image
from dipsys.errors import InputError
from dipsys.nn import NoiseSpec, SkipGenerator
from dipsys.ops.labels import binary_iou, labels_from_gray, mean_iou
from dipsys.run import train
from dipsys.tasks import Segmentation, SegmentationNLayer

SIZE = (32, 32)
ROOT = Path(__file__).resolve().parents[1]


def _skip(out_channels: int = 3, sigmoid: bool = True) -> SkipGenerator:
    return SkipGenerator(2, out_channels, [8, 16], [8, 16], [0, 0], sigmoid=sigmoid)


def _segmentation(**kwargs) -> Segmentation:
    noise = NoiseSpec(depth=2)
    generators = {"foreground": _skip(), "background": _skip(), "mask": _skip(1)}
    return Segmentation(
        generators,
        inputs=dict.fromkeys(generators, noise),
        size=SIZE,
        loss_weights={"hint_layers": 1, "hint_mask": 1, "recon": 0.5, "onehot": 0.01},
        **kwargs,
    )


def _nlayer(layers: int = 3) -> SegmentationNLayer:
    return SegmentationNLayer(
        layers,
        layer_generator=_skip,
        mask_generator=lambda out_channels, sigmoid: _skip(out_channels, sigmoid),
        layer_input=NoiseSpec(depth=2),
        mask_input=NoiseSpec(depth=2),
        size=SIZE,
        loss_weights={"hint_layers": 1, "hint_mask": 1, "recon": 0.5, "onehot": 0.05},
    )


def _batch(step: int, names=("fg", "bg")) -> dict:
    target = torch.rand(1, 3, *SIZE)
    batch = {"target": target, "k": [0], "sigma": torch.tensor(0.0), "step": step, "last": False}
    for index, name in enumerate(names):
        hint = torch.zeros(1, 1, *SIZE)
        hint[..., index * 8 : index * 8 + 4, :] = 1
        batch[f"aligned/hint_{name}"] = hint
    return batch


def test_layer_generators_share_their_input():
    task = _segmentation()
    assert torch.equal(task.z_foreground, task.z_background)
    assert not torch.equal(task.z_foreground, task.z_mask)
    separate = _segmentation(shared_layer_input=False)
    assert not torch.equal(separate.z_foreground, separate.z_background)


def test_composite_is_the_mask_mixture():
    task = _segmentation()
    fg, bg = torch.rand(2, 1, 3, *SIZE)
    for value, expected in ((1.0, fg), (0.0, bg)):
        mask = torch.full((1, 1, *SIZE), value)
        recon = task.composite({"foreground": fg, "background": bg, "mask": mask})
        torch.testing.assert_close(recon, expected)


def test_two_stage_schedule_switches_terms():
    task = _segmentation()
    task.set_schedule(120)
    assert task.split == 40 and task.hint_end == 60 and task.ramp_steps == 20
    outputs = task([0], torch.tensor(0.0))
    layers = task.decompose(outputs, {})
    recon = task.composite(layers)
    early = task.loss_terms(layers, recon, _batch(0))
    assert early["hint_layers"] > 0 and early["hint_mask"] > 0
    assert early["recon"] == 0 and early["onehot"] == 0
    late = task.loss_terms(layers, recon, _batch(110))
    assert late["hint_layers"] == 0 and late["hint_mask"] == 0
    assert late["recon"] > 0 and late["onehot"] > 0
    ramp = task.loss_terms(layers, recon, _batch(45))  # in the hint-keep window, ramp 0.2
    assert ramp["hint_layers"] > 0 and 0 < ramp["onehot"] < late["onehot"]
    assert not task.selectable(39) and task.selectable(40)


def test_nlayer_mask_is_a_distribution_and_fits_hints():
    torch.manual_seed(0)  # weights and target: 25 steps do not fit every draw
    task = _nlayer(3)
    names = ("fg", "mg", "bg")
    task.set_schedule(200)
    optimizer = torch.optim.Adam(task.parameters(), lr=1e-2)
    losses = []
    for _ in range(25):
        layers = task.decompose(task([0], torch.tensor(0.0)), {})
        terms = task.loss_terms(layers, task.composite(layers), _batch(0, names))
        loss = terms["hint_mask"] + terms["hint_layers"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.8 * losses[0]
    masks = layers["mask"]
    assert masks.shape == (1, 3, *SIZE)
    torch.testing.assert_close(masks.sum(dim=1), torch.ones(1, *SIZE))
    # label k's probability is highest on hint k's rows
    batch = _batch(0, names)
    for k, name in enumerate(names):
        hint = batch[f"aligned/hint_{name}"][0, 0] > 0
        assert int(masks[0, :, hint].mean(dim=1).argmax()) == k


def test_image_conditioned_mask_sees_the_target():
    noise = NoiseSpec(depth=2)
    generators = {"foreground": _skip(), "background": _skip(), "mask": _skip(1)}
    generators["mask"] = SkipGenerator(5, 1, [8, 16], [8, 16], [0, 0])
    task = Segmentation(
        generators,
        inputs=dict.fromkeys(generators, noise),
        size=SIZE,
        loss_weights={"hint_layers": 1, "hint_mask": 1, "recon": 0.5, "onehot": 0.01},
        image_conditioned=["mask"],
    )
    dark, bright = torch.zeros(1, 3, *SIZE), torch.ones(1, 3, *SIZE)
    first = task([0], torch.tensor(0.0), 0, dark)
    second = task([0], torch.tensor(0.0), 0, bright)
    assert not torch.allclose(first["mask"], second["mask"])
    torch.testing.assert_close(first["foreground"], second["foreground"])
    with pytest.raises(ValueError, match="image-conditioned"):
        task([0], torch.tensor(0.0))
    with pytest.raises(InputError, match="unknown generator"):
        _segmentation(image_conditioned=["nope"])


def test_hints_only_mask_target_leaves_unhinted_pixels_free():
    task = _segmentation(uniform_unhinted=False)
    task.set_schedule(120)
    layers = task.decompose(task([0], torch.tensor(0.0)), {})
    batch = _batch(0)
    # A mask equal to the hints on hinted pixels costs nothing, whatever it is elsewhere.
    mask = batch["aligned/hint_fg"] + 0.37 * (
        1 - batch["aligned/hint_fg"] - batch["aligned/hint_bg"]
    )
    layers["mask"] = mask
    assert float(task.loss_terms(layers, task.composite(layers), batch)["hint_mask"]) < 1e-6
    reference = _segmentation()
    reference.set_schedule(120)
    assert float(reference.loss_terms(layers, task.composite(layers), batch)["hint_mask"]) > 0.05


def test_nlayer_needs_two_layers():
    with pytest.raises(InputError, match="at least 2"):
        _nlayer(1)


def _two_regions(tmp_path: Path) -> tuple[Path, Path]:
    """A 64×80 image: a red textured disc on a green textured background, and its mask."""
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:64, 0:80]
    disc = ((y - 30) ** 2 + (x - 42) ** 2 < 18**2).astype(np.float32)
    noise = rng.uniform(-0.08, 0.08, (64, 80, 1)).astype(np.float32)
    red, green = np.array([0.85, 0.25, 0.2]), np.array([0.2, 0.7, 0.25])
    image = disc[..., None] * red + (1 - disc[..., None]) * green + noise
    image_path, mask_path = tmp_path / "disc.png", tmp_path / "disc_mask.png"
    write_image(image_path, torch.from_numpy(image).permute(2, 0, 1).float().clamp(0, 1))
    write_image(mask_path, torch.from_numpy(disc)[None])
    return image_path, mask_path


def _read(path: Path) -> np.ndarray:
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


def _labels(gray: np.ndarray) -> torch.Tensor:
    return labels_from_gray(torch.from_numpy(gray))


@pytest.mark.parametrize("hints", ["auto", "files"])
def test_segmentation_run_writes_the_contract(make_cfg, tmp_path, hints):
    image, mask = _two_regions(tmp_path)
    overrides = [f"data.image={image}", f"data.gt_mask={mask}", "task=segmentation"]
    if hints == "files":
        fg, bg = torch.zeros(2, 1, 64, 80)
        fg[:, 25:35, 37:47] = 1  # inside the disc
        bg[:, :4] = 1  # the top rows
        fg_path = write_image(tmp_path / "fg.png", fg)
        bg_path = write_image(tmp_path / "bg.png", bg)
        overrides += [f"data.hints.fg={fg_path}", f"data.hints.bg={bg_path}"]
    cfg = make_cfg(*overrides)
    metrics = train(cfg)
    run = Path(cfg.paths.output_dir)
    for name in ("foreground", "background", "mask", "mask_soft"):
        assert _read(run / "layers" / f"{name}.png").shape[:2] == (64, 80), name
    binary = _read(run / "layers" / "mask.png")
    assert set(np.unique(binary)) <= {0, 255}
    saved = json.loads((run / "metrics.json").read_text())
    assert saved == metrics and saved["task"] == "segmentation"
    # the figures are those of the written masks against the ground truth
    truth = torch.from_numpy(_read(mask) > 127)
    assert saved["iou"] == pytest.approx(
        binary_iou(torch.from_numpy(binary > 127), truth), abs=2e-3
    )
    grabcut = torch.from_numpy(_read(run / "baselines" / "grabcut.png") > 127)
    assert saved["baselines"]["grabcut"]["iou"] == pytest.approx(
        binary_iou(grabcut, truth), abs=2e-3
    )
    assert (run / "checkpoints" / "last.ckpt").is_file()


def test_nlayer_run_writes_labels(make_cfg):
    cfg = make_cfg("task=segmentation_nlayer")
    metrics = train(cfg)
    run = Path(cfg.paths.output_dir)
    labels = _read(run / "layers" / "labels.png")
    assert labels.shape[:2] == tuple(metrics["original_size"])
    assert set(np.unique(labels)) <= {0, 127, 128, 255}
    for name in ("layer0", "layer1", "layer2", "foreground", "background", "mask"):
        assert (run / "layers" / f"{name}.png").is_file(), name
    truth = _labels(_read(ROOT / "assets/segmentation/three_regions_labels.png"))
    assert metrics["iou"] == pytest.approx(mean_iou(_labels(labels), truth, 3)[0], abs=2e-3)
    assert "grabcut" in metrics["baselines"]


def test_three_layer_system_combines_pairwise_runs(make_cfg):
    cfg = make_cfg("task=segmentation_3layer_system", "task.steps=3")
    metrics = train(cfg)
    run = Path(cfg.paths.output_dir)
    assert [stage["steps"] for stage in metrics["stages"]] == [3, 3, 3]
    for index in range(3):
        assert (run / f"stage_{index}" / "layers" / "mask_soft.png").is_file()
        assert "iou" not in metrics["stages"][index]
    labels = _read(run / "layers" / "labels.png")
    assert set(np.unique(labels)) <= {0, 127, 128, 255}
    truth = _labels(_read(ROOT / "assets/segmentation/three_regions_labels.png"))
    assert metrics["iou"] == pytest.approx(mean_iou(_labels(labels), truth, 3)[0], abs=2e-3)
    grabcut = _labels(_read(run / "baselines" / "grabcut.png"))
    assert metrics["baselines"]["grabcut"]["iou"] == pytest.approx(
        mean_iou(grabcut, truth, 3)[0], abs=2e-3
    )
    assert json.loads((run / "metrics.json").read_text()) == metrics


def _datamodule(image: Path, **hints) -> SingleImageDataModule:
    return SingleImageDataModule(str(image), max_side=64, multiple=8, hints={"layers": 2, **hints})


def test_hints_from_files_boxes_and_automatic(tmp_path):
    image, _ = _two_regions(tmp_path)
    dm = _datamodule(image, boxes={"fg": [[30, 20, 50, 40]]})
    dm.prepare()
    fg, bg = dm.hints["fg"], dm.hints["bg"]
    assert fg.shape == (1, 64, 80) and fg[0, 20:40, 30:50].all() and fg.sum() == 400
    assert bg.any() and not (fg * bg).any()  # bg automatic, outside the given fg
    assert dm.aligned["hint_fg"].shape == (1, *dm.working_size)


@pytest.mark.parametrize(
    ("hints", "message"),
    [
        ({"boxes": {"fg": [[60, 20, 90, 40]]}}, "outside"),
        ({"boxes": {"xx": [[0, 0, 4, 4]]}}, "unknown hint 'xx'"),
        ({"fg": "wrong_size"}, "but the image is"),
        ({"fg": "empty"}, "empty"),
    ],
)
def test_bad_hints_are_input_errors(tmp_path, hints, message):
    image, _ = _two_regions(tmp_path)
    if hints.get("fg") == "wrong_size":
        hints["fg"] = str(write_image(tmp_path / "small.png", torch.ones(1, 10, 10)))
    elif hints.get("fg") == "empty":
        hints["fg"] = str(write_image(tmp_path / "empty.png", torch.zeros(1, 64, 80)))
    with pytest.raises(InputError, match=message):
        _datamodule(image, **hints).prepare()
