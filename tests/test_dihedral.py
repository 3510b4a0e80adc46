"""The 8-fold dihedral augmentation group (ALGORITHMS.md §1.3)."""

import numpy as np
import pytest
import torch

from dipsys.ops.dihedral import (
    NUM_DIHEDRAL,
    dihedral,
    dihedral_inverse,
    dihedral_shape,
    dihedral_stack,
    dihedral_unstack,
)

KS = range(NUM_DIHEDRAL)


@pytest.fixture
def x() -> torch.Tensor:
    return torch.randn(2, 3, 5, 7, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("k", KS)
def test_inverse_undoes_forward_non_square(x, k):
    y = dihedral(x, k)
    assert y.shape[-2:] == dihedral_shape(5, 7, k)
    assert torch.equal(dihedral_inverse(y, k), x)
    assert torch.equal(dihedral(dihedral_inverse(x, k), k), x)


def test_identity_and_flip(x):
    assert torch.equal(dihedral(x, 0), x)
    assert torch.equal(dihedral(x, 4), x.flip(-2))


def test_all_distinct(x):
    square = x[..., :5]
    outs = [dihedral(square, k) for k in KS]
    for a in KS:
        for b in range(a + 1, NUM_DIHEDRAL):
            assert not torch.equal(outs[a], outs[b]), (a, b)


def test_composition_closure():
    square = torch.randn(1, 4, 4, generator=torch.Generator().manual_seed(1))
    outs = [dihedral(square, k) for k in KS]
    for a in KS:
        for b in KS:
            composed = dihedral(dihedral(square, a), b)
            assert sum(torch.equal(composed, o) for o in outs) == 1, (a, b)


@pytest.mark.parametrize("k", KS)
def test_matches_numpy_reference(k):
    chw = np.random.default_rng(0).standard_normal((3, 5, 7)).astype(np.float32)
    flipped = chw[:, ::-1, :]
    reference = [np.rot90(chw, i, axes=(1, 2)) for i in range(4)]
    reference += [np.rot90(flipped, i, axes=(1, 2)) for i in range(4)]
    out = dihedral(torch.from_numpy(chw), k)
    np.testing.assert_array_equal(out.numpy(), reference[k])


def test_stack_unstack_round_trip_square():
    img = torch.randn(1, 3, 6, 6)
    stacked = dihedral_stack(img, list(KS))
    assert stacked.shape == (8, 3, 6, 6)
    for i, k in enumerate(KS):
        assert torch.equal(stacked[i], dihedral(img[0], k))
    assert torch.equal(dihedral_unstack(stacked, list(KS)), img.expand(8, -1, -1, -1))


def test_stack_unstack_non_square_same_parity():
    img = torch.randn(3, 4, 6)
    ks = [1, 3, 5]
    stacked = dihedral_stack(img, ks)
    assert stacked.shape == (3, 3, 6, 4)
    assert torch.equal(dihedral_unstack(stacked, ks), img.expand(3, -1, -1, -1))


def test_stack_rejects_mixed_parity_on_non_square():
    with pytest.raises(ValueError, match="different shapes"):
        dihedral_stack(torch.randn(1, 2, 4, 6), [0, 1])
    with pytest.raises(ValueError, match="different shapes"):
        dihedral_unstack(torch.randn(2, 2, 4, 6), [0, 1])


def test_stack_and_unstack_shape_errors():
    with pytest.raises(ValueError):
        dihedral_stack(torch.randn(2, 3, 4, 4), [0])
    with pytest.raises(ValueError):
        dihedral_stack(torch.randn(4, 4), [0])
    with pytest.raises(ValueError):
        dihedral_stack(torch.randn(3, 4, 4), [])
    with pytest.raises(ValueError):
        dihedral_unstack(torch.randn(3, 2, 4, 4), [0, 1])


@pytest.mark.parametrize("k", [-1, 8, 1.0, True, "2"])
def test_invalid_k(k):
    img = torch.randn(3, 4, 4)
    for fn in (dihedral, dihedral_inverse):
        with pytest.raises(ValueError, match="dihedral index"):
            fn(img, k)
    with pytest.raises(ValueError, match="dihedral index"):
        dihedral_shape(4, 4, k)


def test_numpy_integer_k_accepted():
    img = torch.randn(3, 4, 4)
    assert torch.equal(dihedral(img, np.int64(4)), img.flip(-2))
