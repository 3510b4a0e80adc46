"""Synthetic cases: deterministic from the seed, in range, and exact in their identities."""

from __future__ import annotations

import pytest
import torch

from dipsys.data import synthetic as syn
from dipsys.errors import InputError


def _texture(seed: int, height: int = 40, width: int = 50) -> torch.Tensor:
    return torch.rand(3, height, width, generator=torch.Generator().manual_seed(seed))


def _assert_unit_float(tensor: torch.Tensor) -> None:
    assert tensor.dtype == torch.float32
    assert float(tensor.min()) >= 0.0 and float(tensor.max()) <= 1.0


def _assert_cases_equal(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], torch.Tensor):
            assert torch.equal(a[key], b[key]), key
        else:
            assert a[key] == b[key], key


CLEAN = _texture(0, 24, 32)
CASES = {
    "haze": lambda seed: syn.haze_case(CLEAN, seed=seed),
    "spatial_haze": lambda seed: syn.haze_case(CLEAN, seed=seed, spatial_airlight=True),
    "fg_bg": lambda seed: syn.fg_bg_composite(_texture(1), _texture(2), seed=seed, size=(32, 32)),
    "regions": lambda seed: syn.region_composite(
        [_texture(1), _texture(2), _texture(3)], seed=seed, size=(32, 32)
    ),
    "watermark": lambda seed: syn.watermark_case(CLEAN, seed=seed),
    "video": lambda seed: syn.moving_object_video(
        _texture(1), _texture(2), frames=4, size=(32, 32), seed=seed
    ),
    "hazy_video": lambda seed: syn.hazy_video(CLEAN, frames=3, seed=seed),
}


@pytest.mark.parametrize("name", CASES)
def test_same_seed_same_case_other_seed_other_case(name: str) -> None:
    first, again, other = CASES[name](0), CASES[name](0), CASES[name](1)
    _assert_cases_equal(first, again)
    image_key = next(k for k in ("hazy", "image", "frames") if k in first)
    assert not torch.equal(first[image_key], other[image_key])


def test_blob_mask_is_deterministic_binary_and_near_coverage() -> None:
    mask = syn.blob_mask(48, 64, seed=3, coverage=0.3)
    assert mask.shape == (1, 48, 64) and mask.dtype == torch.float32
    assert set(mask.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(mask, syn.blob_mask(48, 64, seed=3, coverage=0.3))
    assert not torch.equal(mask, syn.blob_mask(48, 64, seed=4, coverage=0.3))
    for seed in range(3):
        assert 0.2 <= syn.blob_mask(48, 64, seed=seed, coverage=0.3).mean() <= 0.4


def test_haze_case_follows_the_scattering_model() -> None:
    case = syn.haze_case(CLEAN, seed=5)
    t, light = case["transmission"], case["airlight"]
    assert case["hazy"].shape == (3, 24, 32) and t.shape == (1, 24, 32)
    assert light.shape == (3, 1, 1)
    assert float(light.min()) >= 0.75 and float(light.max()) <= 0.95
    assert float(light.max() - light.min()) <= 0.1
    _assert_unit_float(case["hazy"])
    torch.testing.assert_close(case["hazy"], t * CLEAN + (1 - t) * light, atol=1e-6, rtol=0)


def test_haze_case_uses_given_beta_depth_and_spatial_airlight() -> None:
    depth = torch.linspace(0, 1, 32).expand(1, 24, 32)
    case = syn.haze_case(CLEAN, beta=1.2, airlight=(0.8, 0.8, 0.9), depth=depth)
    torch.testing.assert_close(case["transmission"], torch.exp(-1.2 * depth))
    torch.testing.assert_close(case["airlight"].flatten(), torch.tensor([0.8, 0.8, 0.9]))
    spatial = syn.haze_case(CLEAN, seed=2, spatial_airlight=True)
    light, t = spatial["airlight"], spatial["transmission"]
    assert light.shape == (3, 24, 32) and float(light.std()) > 0
    torch.testing.assert_close(spatial["hazy"], t * CLEAN + (1 - t) * light, atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="depth"):
        syn.haze_case(CLEAN, depth=torch.zeros(1, 8, 8))


def test_fg_bg_composite_identity() -> None:
    case = syn.fg_bg_composite(_texture(1), _texture(2, 60, 30), seed=2, size=(32, 40))
    mask, fore, back = case["mask"], case["foreground"], case["background"]
    assert case["image"].shape == fore.shape == back.shape == (3, 32, 40)
    assert mask.shape == (1, 32, 40)
    _assert_unit_float(case["image"])
    torch.testing.assert_close(case["image"], mask * fore + (1 - mask) * back)


def test_region_composite_labels_cover_every_layer() -> None:
    layers = [_texture(k) for k in range(4)]
    case = syn.region_composite(layers, seed=7, size=(32, 32))
    labels, fitted = case["labels"], case["layers"]
    assert labels.shape == (1, 32, 32) and labels.dtype == torch.int64
    assert fitted.shape == (4, 3, 32, 32)
    assert sorted(labels.unique().tolist()) == [0, 1, 2, 3]
    expected = fitted.gather(0, labels.expand(3, -1, -1)[None])[0]
    torch.testing.assert_close(case["image"], expected)
    with pytest.raises(ValueError):
        syn.region_composite([_texture(0)])


def test_colorize_tints_and_keeps_range() -> None:
    red = syn.colorize(_texture(0), (1.0, 0.0, 0.0), strength=0.6)
    _assert_unit_float(red)
    assert red.shape == (3, 40, 50)
    torch.testing.assert_close(red[1], 0.4 * red[0])


def test_mixtures_are_exact_and_check_their_inputs() -> None:
    a, b = _texture(1), _texture(2)
    case = syn.alpha_mixture(a, b, 0.3)
    torch.testing.assert_close(case["mixture"], 0.3 * a + 0.7 * b)
    pair = syn.mixture_pair(a, b, 0.3, 0.8)
    assert pair["mixtures"].shape == (2, 3, 40, 50)
    torch.testing.assert_close(pair["mixtures"][0], case["mixture"])
    torch.testing.assert_close(pair["mixtures"][1], 0.8 * a + 0.2 * b)
    torch.testing.assert_close(pair["alphas"], torch.tensor([0.3, 0.8]))
    with pytest.raises(ValueError, match="same shape"):
        syn.alpha_mixture(a, _texture(3, 40, 40), 0.5)
    with pytest.raises(ValueError, match="same shape"):
        syn.mixture_pair(a, _texture(3, 40, 40), 0.2, 0.5)


@pytest.mark.parametrize("box", [None, [2, 3, 20, 15]])
def test_watermark_changes_only_the_box(box: list[int] | None) -> None:
    case = syn.watermark_case(CLEAN, seed=4, box=box)
    x0, y0, x1, y1 = case["box"]
    assert 0 <= x0 < x1 <= 32 and 0 <= y0 < y1 <= 24
    alpha, mark = case["alpha"], case["watermark"]
    assert alpha.shape == (1, 24, 32) and mark.shape == (3, 24, 32)
    assert 0 < float(alpha.max()) <= 0.45 + 1e-6
    _assert_unit_float(case["image"])
    torch.testing.assert_close(case["image"], (1 - alpha) * CLEAN + alpha * mark)
    inside = torch.zeros(1, 24, 32, dtype=torch.bool)
    inside[:, y0:y1, x0:x1] = True
    changed = (case["image"] != CLEAN).any(dim=0, keepdim=True)
    assert changed.any() and not (changed & ~inside).any()


def test_moving_object_video_masks_move() -> None:
    case = syn.moving_object_video(_texture(1), _texture(2), frames=5, size=(40, 48), seed=3)
    video, masks, back = case["frames"], case["masks"], case["background"]
    assert video.shape == (5, 3, 40, 48) and masks.shape == (5, 1, 40, 48)
    _assert_unit_float(video)
    for k in range(4):
        assert not torch.equal(masks[k], masks[k + 1])
    assert (masks.sum(dim=(1, 2, 3)) > 0).all()
    outside = (masks == 0).expand_as(video)
    assert torch.equal(video[outside], back.expand_as(video)[outside])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_panning_video_moves_every_pixel_by_the_same_step(seed: int) -> None:
    video = syn.panning_video(_texture(seed), frames=5, size=(40, 48), travel=0.5, seed=seed)
    assert video.shape == (5, 3, 40, 48)
    _assert_unit_float(video)
    step = 6  # travel·w / (T − 1) = 24 / 4 pixels per frame
    ahead = all(torch.equal(video[k + 1][..., :-step], video[k][..., step:]) for k in range(4))
    behind = all(torch.equal(video[k + 1][..., step:], video[k][..., :-step]) for k in range(4))
    assert ahead != behind
    assert not torch.equal(video[0], video[1])


def test_hazy_video_haze_thickens_over_time() -> None:
    case = syn.hazy_video(CLEAN, frames=4, seed=1)
    video, t, light = case["frames"], case["transmission"], case["airlight"]
    assert video.shape == (4, 3, 24, 32) and t.shape == (4, 1, 24, 32) and light.shape == (3, 1, 1)
    torch.testing.assert_close(video, t * CLEAN + (1 - t) * light, atol=1e-6, rtol=0)
    assert (t[1:] <= t[:-1]).all() and float(case["beta"][0]) == pytest.approx(0.8)
    assert float(case["beta"][-1]) == pytest.approx(2.0)


@pytest.mark.parametrize("name", syn.SAMPLES)
def test_load_sample(name: str) -> None:
    image = syn.load_sample(name)
    assert image.ndim == 3 and image.shape[0] == 3
    assert max(image.shape[1:]) <= 480
    _assert_unit_float(image)


def test_load_sample_unknown_name_lists_the_names() -> None:
    with pytest.raises(InputError, match="coffee"):
        syn.load_sample("nope")
