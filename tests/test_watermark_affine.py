"""The classical affine watermark removal on a synthetic logo made here (no dev data)."""

from __future__ import annotations

import numpy as np
import pytest

from dipsys.ops.watermark_affine import affine_remove, fit_opacity, outline_pairs
from dipsys.ops.watermark_blind import blind_remove, checked_remove, removal_check
from dipsys.ops.watermark_footprint import footprint_cut
from tests.conftest import psnr_np as _psnr
from tests.conftest import textured_photos

OPACITY, COLOUR = 0.2, np.array([1.0, 0.95, 0.9])


def _scene(seed: int = 0, noise: float = 0.01) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A smooth photo with mild noise, a block-letter logo composited on it (8-bit)."""
    rng = np.random.default_rng(seed)
    height, width = 56, 120
    ys, xs = np.mgrid[0:height, 0:width] / np.array([height, width])[:, None, None]
    photo = np.stack([0.2 + 0.4 * xs, 0.3 + 0.3 * ys, 0.5 - 0.2 * xs * ys], axis=-1)
    photo = np.clip(photo + rng.normal(0, noise, photo.shape), 0, 1)
    logo = np.zeros((height, width), bool)
    logo[12:44, 14:24] = True  # an "L"
    logo[36:44, 14:44] = True
    logo[12:44, 54:64] = True  # a "T"
    logo[12:20, 44:74] = True
    logo[12:44, 84:94] = True  # an "I"
    m = OPACITY * logo[..., None]
    image = np.round(((1 - m) * photo + m * COLOUR) * 255) / 255
    return image, photo, logo


def test_inversion_is_exact_with_the_true_layer() -> None:
    image, photo, logo = _scene(noise=0.0)
    assert _psnr(affine_remove(image, logo, OPACITY, COLOUR), photo) > 45


def test_fit_from_the_outline_recovers_opacity_and_colour() -> None:
    image, _, logo = _scene()
    p, q = outline_pairs(logo)
    flat = image.reshape(-1, 3)
    a, colour, _ = fit_opacity(flat[p], flat[q])
    # spread matching assumes the two sides are exchangeable; a ramp across the logo is not
    assert a == pytest.approx(OPACITY, abs=0.05)
    np.testing.assert_allclose(colour, COLOUR, atol=0.1)


def test_cut_with_the_true_layer_finds_the_footprint() -> None:
    image, _, logo = _scene()
    found = footprint_cut(image, OPACITY, COLOUR)
    iou = (found & logo).sum() / (found | logo).sum()
    assert iou > 0.8


def test_blind_removal_beats_the_input_and_passes_the_check() -> None:
    image, photo, _ = _scene()
    out = blind_remove(image)
    assert _psnr(out["result"], photo) > _psnr(image, photo) + 3
    passed, figures = removal_check(image, out["result"], out["footprint"], out["opacity"])
    assert passed, figures


def test_check_keeps_an_image_without_a_logo() -> None:
    _, photo, _ = _scene()
    photo = np.round(photo * 255) / 255
    out = blind_remove(photo)
    passed, _ = removal_check(photo, out["result"], out["footprint"], out["opacity"])
    assert not passed


def _textured_stack(count: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``count`` textured photos (coarse colour blobs and fine grain) under one logo, 8-bit."""
    photos = textured_photos(count, 56, 120, blobs=(7, 12), grain=0.12)
    _, _, logo = _scene()
    m = 0.15 * logo[..., None]
    images = np.round(((1 - m) * photos + m * COLOUR) * 255) / 255
    return images, photos, logo


def test_a_stack_of_textured_photos_under_one_logo_is_cleaned_jointly() -> None:
    """Each photo's texture hides the faint outline (alone, the cut finds 0.2 IoU of the logo
    and the removal loses 2-7 dB); pooled over three photos the outline adds up."""
    images, photos, logo = _textured_stack()
    out = blind_remove(images)
    assert out["result"].shape == images.shape
    assert (out["footprint"] & logo).sum() / (out["footprint"] | logo).sum() > 0.6
    assert out["opacity"] == pytest.approx(0.15, abs=0.03)
    for result, photo, image in zip(out["result"], photos, images, strict=True):
        assert _psnr(result, photo) > _psnr(image, photo) + 3


def test_a_stack_of_one_image_is_removed_as_the_image_alone() -> None:
    image, _, _ = _scene()
    alone, stacked = blind_remove(image), blind_remove(image[None])
    np.testing.assert_array_equal(stacked["footprint"], alone["footprint"])
    np.testing.assert_array_equal(stacked["result"][0], alone["result"])
    assert stacked["opacity"] == alone["opacity"]


def test_the_joint_check_keeps_a_stack_without_a_logo() -> None:
    _, photos, _ = _textured_stack()
    photos = np.round(photos * 255) / 255
    out = checked_remove(photos, max_ratio=0.9)
    assert out["kept_input"] and np.array_equal(out["result"], photos)
