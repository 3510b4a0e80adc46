"""Segmentation tasks: the model, its two-stage schedule and its export (runs through train()
and hints through the data module: tests/test_segmentation_runs.py)."""

from __future__ import annotations

import pytest
import torch

from dipsys.errors import InputError
from dipsys.nn import NoiseSpec, SkipGenerator
from dipsys.tasks import Segmentation, SegmentationNLayer

SIZE = (32, 32)


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


def test_the_exported_mask_follows_the_cut_where_the_dip_mask_saturates():
    # A sigmoid mask reads exactly 1 over whole regions after a long fit; the cut at full
    # resolution must still decide there (it once lost those pixels to the foreground).
    task = _segmentation(refine="graph_cut")
    image = torch.zeros(3, *SIZE)
    image[0, :, :16] = 0.9  # red left half, blue right half
    image[2, :, 16:] = 0.9
    fg, bg = torch.zeros(1, *SIZE), torch.zeros(1, *SIZE)
    fg[..., 4:28, 2:6] = 1
    bg[..., 4:28, 26:30] = 1
    task.best = {
        "foreground": torch.rand(1, 3, *SIZE),
        "background": torch.rand(1, 3, *SIZE),
        "mask": torch.ones(1, 1, *SIZE),  # saturated everywhere
    }
    masks = task.final_probabilities(image, hints={"fg": fg, "bg": bg})
    foreground = masks.argmax(dim=1)[0] == 0
    assert torch.allclose(masks.sum(dim=1), torch.ones(1, *SIZE))
    assert foreground[:, :16].all() and not foreground[:, 16:].any()
    assert torch.equal(foreground, masks[0, 0] > 0.5)


def test_nlayer_needs_two_layers():
    with pytest.raises(InputError, match="at least 2"):
        _nlayer(1)
