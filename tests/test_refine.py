"""Full-resolution mask refinement: the grid min-cut, the CRF refinement, boundary saliency."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dipsys.ops.boundary_saliency import boundary_saliency
from dipsys.ops.graph_cut import grid_min_cut
from dipsys.ops.refine import colour_log_ratio, refine_probability
from dipsys.ops.resize import resize


def _energy(labels, unary, right, down):
    data = np.where(labels, np.maximum(-unary, 0), np.maximum(unary, 0)).sum()
    cuts = (right * (labels[:, 1:] != labels[:, :-1])).sum()
    return data + cuts + (down * (labels[1:] != labels[:-1])).sum()


def test_min_cut_is_the_exact_minimum_on_a_tiny_grid():
    rng = np.random.default_rng(0)
    unary = rng.normal(size=(2, 3))
    right, down = rng.uniform(0, 1, (2, 2)), rng.uniform(0, 1, (1, 3))
    best = min(
        _energy(
            np.array([(code >> i) & 1 for i in range(6)], bool).reshape(2, 3), unary, right, down
        )
        for code in range(64)
    )
    labels = grid_min_cut(unary, right, down)
    assert _energy(labels, unary, right, down) == pytest.approx(best, abs=0.02)


def test_min_cut_keeps_hard_labels_and_smooths():
    unary = np.full((6, 6), 0.1)
    unary[:, :3] = -0.1
    strong = np.full((6, 5), 10.0), np.full((5, 6), 10.0)
    assert grid_min_cut(unary, *strong).sum() in (0, 36)  # one label: no edge is worth cutting
    sure = np.zeros((6, 6), bool)
    sure[0, 0] = True
    labels = grid_min_cut(np.full((6, 6), -0.1), *strong, sure_one=sure)
    assert labels[0, 0] and labels.sum() == 36  # cheaper to follow the fixed pixel than cut
    with pytest.raises(ValueError, match="do not fit"):
        grid_min_cut(unary, np.zeros((6, 6)), np.zeros((5, 6)))


def _disc_image(size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """A red disc on a textured blue background, and its mask."""
    gen = torch.Generator().manual_seed(0)
    ys, xs = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    disc = ((ys - size / 2) ** 2 + (xs - size / 2) ** 2 < (size / 4) ** 2).float()
    image = torch.stack([0.8 * disc, 0.2 + 0 * disc, 0.7 * (1 - disc)])
    image = (image + 0.05 * torch.rand(3, size, size, generator=gen)).clamp(0, 1)
    return image, disc[None]


def test_colour_ratio_prefers_the_side_whose_colours_match():
    image, disc = _disc_image()
    rgb = image.permute(1, 2, 0).numpy()
    ratio = colour_log_ratio(rgb, disc[0].numpy())
    assert ratio[disc[0] > 0.5].mean() > 2 and ratio[disc[0] < 0.5].mean() < -2


def test_refinement_snaps_a_blurry_prior_to_the_edge():
    image, disc = _disc_image()
    shifted = torch.roll(disc, (5, 4), dims=(1, 2))  # a coarse mask, off by a few pixels
    blurry = resize(resize(shifted[None], (8, 8), mode="area"), (64, 64), mode="bilinear")[0]
    blurry = (0.6 * blurry + 0.2).clamp(0, 1)
    before = ((blurry > 0.5) != (disc > 0.5)).float().mean()
    refined = refine_probability(image, blurry)
    after = ((refined > 0.5) != (disc > 0.5)).float().mean()
    assert refined.shape == disc.shape
    assert after < 0.01 and before > 0.05


def test_refinement_respects_hints_and_a_size_cap():
    image, disc = _disc_image()
    wrong = torch.zeros_like(disc)  # a prior that sees no object at all
    fg = torch.zeros_like(disc)
    fg[:, 30:34, 30:34] = 1
    bg = torch.zeros_like(disc)
    bg[:, :4] = 1
    refined = refine_probability(image, wrong + 0.3, fg, bg)
    assert refined[0, 30:34, 30:34].all() and not refined[0, :4].any()
    assert ((refined > 0.5) != (disc > 0.5)).float().mean() < 0.02
    capped = refine_probability(image, wrong + 0.3, fg, bg, max_side=32)
    assert capped.shape == disc.shape
    assert ((capped > 0.5) != (disc > 0.5)).float().mean() < 0.05
    with pytest.raises(ValueError, match="probability"):
        refine_probability(image, disc[:, :10])


def test_boundary_saliency_marks_a_central_object_over_the_border():
    image, disc = _disc_image(96)
    saliency = boundary_saliency(image)
    assert saliency.shape == (1, 96, 96)
    assert saliency[disc > 0.5].mean() > saliency[disc < 0.5].mean() + 0.5
    assert not boundary_saliency(torch.full((3, 32, 32), 0.5)).any()
