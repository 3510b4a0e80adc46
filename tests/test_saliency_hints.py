"""Saliency, automatic segmentation hints and the GrabCut baseline (dipsys.ops)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

from dipsys.data.synthetic import colorize, fg_bg_composite, load_sample, region_composite
from dipsys.errors import InputError
from dipsys.ops import (
    SALIENCY_METHODS,
    binary_iou,
    cluster_hints,
    color_contrast,
    equalize,
    grabcut,
    hint_names,
    mean_iou,
    region_depth,
    saliency_map,
    spectral_residual,
    threshold_hints,
)


def _textures() -> list[torch.Tensor]:
    """Three bundled gray textures tinted apart: brick red, gravel blue, grass green."""
    return [
        colorize(load_sample("brick"), (0.9, 0.45, 0.3)),
        colorize(load_sample("gravel"), (0.45, 0.55, 0.95)),
        colorize(load_sample("grass"), (0.35, 0.8, 0.3)),
    ]


def _erode(mask: torch.Tensor, radius: int) -> torch.Tensor:
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1,) * 2)
    eroded = cv2.erode(mask[0].numpy().astype(np.uint8), kernel)
    return torch.from_numpy(eroded.astype(np.float32))[None]


@pytest.fixture(scope="module")
def disc_image() -> tuple[torch.Tensor, torch.Tensor]:
    """A flat red disc, off-centre, on a green-tinted brick texture; (image, disc mask).

    The texture's contrast is lowered and the disc kept small: spectral residual, a gray-level
    method, marks small "unexpected" objects and also lights up strong, irregular texture.
    """
    height, width = 96, 128
    brick = 0.6 + 0.3 * load_sample("brick")
    background = colorize(brick, (0.3, 0.75, 0.35))[:, :height, :width]
    ys, xs = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    disc = ((xs - 74) ** 2 + (ys - 44) ** 2 < 16**2)[None]
    red = torch.tensor([0.85, 0.2, 0.15]).view(3, 1, 1).expand(3, height, width)
    return torch.where(disc, red, background), disc.float()


# -- saliency -----------------------------------------------------------------------------------
@pytest.mark.parametrize("method", SALIENCY_METHODS)
def test_saliency_is_higher_inside_the_disc(disc_image, method: str) -> None:
    image, disc = disc_image
    saliency = saliency_map(image, method)
    assert saliency.shape == (1, *image.shape[-2:])
    assert float(saliency.min()) >= 0.0 and float(saliency.max()) <= 1.0
    inside = saliency[disc > 0.5].mean()
    outside = saliency[disc < 0.5].mean()
    assert inside > outside + 0.2


def test_color_contrast_separates_the_disc_clearly(disc_image) -> None:
    image, disc = disc_image
    saliency = color_contrast(image)
    # The disc's core is near the top of the range, the border colour near zero.
    assert saliency[_erode(disc, 4) > 0.5].mean() > 0.6
    assert saliency[_erode(1 - disc, 6) > 0.5].mean() < 0.1
    assert torch.equal(saliency, color_contrast(image)), "must be reproducible"


@pytest.mark.parametrize("compute", [color_contrast, spectral_residual, saliency_map])
def test_constant_image_gives_finite_zeros(compute) -> None:
    saliency = compute(torch.full((3, 30, 41), 0.37))
    assert saliency.shape == (1, 30, 41)
    assert torch.isfinite(saliency).all() and not saliency.any()


def test_unknown_saliency_method_names_the_choices() -> None:
    with pytest.raises(InputError, match="contrast, spectral_residual"):
        saliency_map(torch.rand(3, 8, 8), "itti")


# -- threshold hints ----------------------------------------------------------------------------
def test_hint_names() -> None:
    assert hint_names(2) == ["fg", "bg"]
    assert hint_names(3) == ["fg", "mg", "bg"]
    assert hint_names(5) == ["layer0", "layer1", "layer2", "layer3", "layer4"]
    for bad in (1, 0, -2):
        with pytest.raises(InputError, match="at least 2 layers"):
            hint_names(bad)


def _ramp(height: int = 32, width: int = 256) -> torch.Tensor:
    return torch.linspace(0, 1, width).expand(height, width)[None].clone()


def test_equalize_spreads_a_skewed_score() -> None:
    skewed = _ramp() ** 3  # most values near 0
    eq = equalize(skewed)
    assert eq.shape == skewed.shape and eq.min() >= 0 and eq.max() == 255
    # After equalisation the median sits near the middle of the range, not near 0.
    assert float((skewed * 255).median()) < 40
    assert 100 < float(eq.median()) < 155


def test_threshold_hints_two_and_three_layers_on_a_ramp() -> None:
    score = _ramp()
    two = threshold_hints(score, ["fg", "bg"])
    assert list(two) == ["fg", "bg"]
    assert two["fg"].mean() == pytest.approx(1 / 16, abs=0.01)
    assert two["bg"].mean() == pytest.approx(1 / 16, abs=0.01)
    # The most salient (high-score) end is the foreground.
    assert two["fg"][0, :, -1].all() and two["bg"][0, :, 0].all()

    three = threshold_hints(score, ["fg", "mg", "bg"])
    assert torch.equal(three["fg"], two["fg"]) and torch.equal(three["bg"], two["bg"])
    assert not (three["mg"] * three["bg"]).any(), "mg must exclude the background hint"
    assert three["mg"].mean() == pytest.approx((80 - 15.5) / 256, abs=0.02)
    assert (sum(three.values()) <= 1).all()


def test_region_depth_puts_the_extremes_deep_inside_and_far_outside() -> None:
    # A disc whose score peaks on its rim (a textured object's contour), weaker inside.
    ys, xs = torch.meshgrid(torch.arange(96), torch.arange(128), indexing="ij")
    radius = ((xs - 40.0) ** 2 + (ys - 48.0) ** 2).sqrt()
    disc = radius < 30
    score = torch.where(disc, 0.6, 0.1) + 0.4 * ((radius - 30).abs() < 2).float()
    raw = threshold_hints(score[None], ["fg", "bg"])
    depth = region_depth(score[None])
    assert depth.shape == (1, 96, 128) and depth.min() >= 0 and depth.max() <= 1
    shaped = threshold_hints(depth, ["fg", "bg"])
    inner = radius < 22  # well inside the disc
    assert (raw["fg"][0].bool() & ~inner).float().mean() > 0.02  # the raw top is on the rim
    assert (shaped["fg"][0].bool() <= inner).all()
    assert (shaped["bg"][0].bool() <= (radius > 40)).all()
    assert shaped["fg"].sum() > 0 and shaped["bg"].sum() > 0


def test_region_depth_of_a_flat_score_is_the_score() -> None:
    flat = torch.full((1, 16, 16), 0.3)
    assert torch.equal(region_depth(flat), flat)


def test_automatic_saliency_hints_fall_inside_a_textured_object() -> None:
    from dipsys.data.hints import automatic_hints

    brick, _, grass = _textures()
    case = fg_bg_composite(brick, grass, seed=3, size=(96, 128))
    hints = automatic_hints(case["image"], ["fg", "bg"], "saliency")
    truth = case["mask"][0] > 0.5
    assert hints["fg"].sum() > 0 and hints["bg"].sum() > 0
    assert (hints["fg"][0].bool() & truth).sum() >= 0.95 * hints["fg"].sum()
    assert (hints["bg"][0].bool() & ~truth).sum() >= 0.95 * hints["bg"].sum()


def test_threshold_hints_many_layers_are_ordered_disjoint_bands() -> None:
    for count in (5, 12):
        hints = threshold_hints(_ramp(), hint_names(count))
        stacked = torch.stack(list(hints.values()))
        assert (stacked.sum(0) <= 1).all(), f"bands overlap for K={count}"
        assert all(mask.any() for mask in hints.values())
        # The centre column of each band moves from the bright (right) end to the dark end.
        centres = [float(mask[0, 0].nonzero().float().mean()) for mask in hints.values()]
        assert centres == sorted(centres, reverse=True)
    five = threshold_hints(_ramp(), hint_names(5))
    assert five["layer2"].mean() == pytest.approx(33 / 256, abs=0.02)


# -- cluster hints ------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 3])
def test_cluster_hints_fall_inside_distinct_regions(seed: int) -> None:
    case = region_composite(_textures(), seed=seed, size=(96, 128))
    image, labels = case["image"], case["labels"][0]
    hints = cluster_hints(image, hint_names(3))
    assert list(hints) == ["fg", "mg", "bg"]
    regions = []
    for name, hint in hints.items():
        assert hint.shape == (1, 96, 128) and set(hint.unique().tolist()) <= {0.0, 1.0}
        marked = hint[0] > 0.5
        assert marked.any(), name
        counts = torch.bincount(labels[marked], minlength=3)
        assert counts.max() / marked.sum() >= 0.9, f"{name} straddles regions: {counts.tolist()}"
        regions.append(int(counts.argmax()))
    assert sorted(regions) == [0, 1, 2]
    assert (sum(hints.values()) <= 1).all()


def test_cluster_hints_follow_the_score_order_and_are_reproducible() -> None:
    case = region_composite(_textures(), seed=0, size=(96, 128))
    image, labels = case["image"], case["labels"][0]
    # Region 2 scores highest, then 0, then 1.
    score = torch.tensor([0.5, 0.0, 1.0])[labels][None]
    hints = cluster_hints(image, ["fg", "mg", "bg"], score=score)
    for name, region in zip(["fg", "mg", "bg"], [2, 0, 1], strict=True):
        marked = hints[name][0] > 0.5
        assert (labels[marked] == region).float().mean() >= 0.9, name
    again = cluster_hints(image, ["fg", "mg", "bg"], score=score)
    assert all(torch.equal(hints[n], again[n]) for n in hints)


def test_cluster_hints_always_mark_every_name() -> None:
    hints = cluster_hints(torch.full((3, 40, 50), 0.5), hint_names(4))
    assert all(mask.any() for mask in hints.values())
    assert (sum(hints.values()) <= 1).all()
    with pytest.raises(InputError, match="core"):
        cluster_hints(torch.rand(3, 20, 20), ["fg", "bg"], core=0.0)
    with pytest.raises(InputError, match="must be different"):
        threshold_hints(_ramp(), ["fg", "fg"])
    with pytest.raises(InputError, match="at least 2 layers"):
        cluster_hints(torch.rand(3, 20, 20), ["fg"])


# -- GrabCut ------------------------------------------------------------------------------------
def test_grabcut_segments_a_blob_from_sparse_hints() -> None:
    brick, _, grass = _textures()
    case = fg_bg_composite(brick, grass, seed=1, size=(96, 96))
    mask = case["mask"]
    foreground = _erode(mask, 10)
    # Background only along the frame: labelling by the nearest hint alone scores about 0.75.
    frame = torch.ones_like(mask)
    frame[..., 4:-4, 4:-4] = 0
    labels = grabcut(case["image"], {"fg": foreground, "bg": frame * (1 - mask)})
    assert labels.shape == (96, 96) and labels.dtype == torch.int64
    assert set(labels.unique().tolist()) <= {0, 1}
    assert binary_iou(labels == 0, mask[0]) > 0.9


def test_grabcut_three_labels_in_range_and_in_hint_order() -> None:
    case = region_composite(_textures(), seed=0, size=(80, 96))
    truth = case["labels"][0]
    names = ["fg", "mg", "bg"]
    hints = {name: _erode((truth == k).float()[None], 5) for k, name in enumerate(names)}
    labels = grabcut(case["image"], hints, max_side=64)  # also covers the resize round trip
    assert labels.shape == (80, 96) and labels.dtype == torch.int64
    assert int(labels.min()) >= 0 and int(labels.max()) <= 2
    iou, perm = mean_iou(labels, truth, 3, match=False)
    assert iou > 0.85 and perm == [0, 1, 2]


def test_grabcut_degenerate_hints_fall_back_without_crashing() -> None:
    image = torch.rand(3, 40, 50)
    some = torch.zeros(1, 40, 50)
    some[0, 5:10, 5:10] = 1
    empty = torch.zeros(1, 40, 50)
    # OpenCV raises without background samples; the nearest-hint labels take over.
    labels = grabcut(image, {"fg": some, "bg": empty})
    assert torch.equal(labels, torch.zeros(40, 50, dtype=torch.int64))
    labels = grabcut(image, {"fg": empty, "mg": some, "bg": empty})
    assert torch.equal(labels, torch.ones(40, 50, dtype=torch.int64))
