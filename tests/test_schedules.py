import pytest

from dipsys.data.schedules import AugmentationPlan, Constant, Ramp, Staircase
from dipsys.errors import InputError


def test_constant_and_ramp():
    assert Constant(0.03)(5, 10) == 0.03
    ramp = Ramp(0.0, 1.0)
    assert ramp(0, 11) == 0.0
    assert ramp(10, 11) == pytest.approx(1.0)
    assert ramp(5, 11) == pytest.approx(0.5)


def test_reference_segmentation_staircase():
    sched = Staircase(0.001, 100, until=1000, after=0.001)
    assert sched(0, 4000) == 0.0
    assert sched(99, 4000) == 0.0
    assert sched(100, 4000) == pytest.approx(0.001)
    assert sched(999, 4000) == pytest.approx(0.009)
    assert sched(1000, 4000) == pytest.approx(0.001)
    assert sched(3999, 4000) == pytest.approx(0.001)


def test_unbounded_staircase():
    sched = Staircase(0.001, 300)
    assert sched(3999, 4000) == pytest.approx(0.013)


def test_augmentation_none_and_cyclic():
    assert AugmentationPlan("none")(5, 10) == [0]
    plan = AugmentationPlan("cyclic")
    assert [plan(s, 100)[0] for s in range(10)] == [0, 1, 2, 3, 4, 5, 6, 7, 0, 1]


def test_last_step_is_identity():
    for mode in ("cyclic", "random", "batch"):
        assert AugmentationPlan(mode, per_step=8)(99, 100) == [0]


def test_random_is_reproducible_and_covers_the_group():
    a, b = AugmentationPlan("random", seed=3), AugmentationPlan("random", seed=3)
    seq = [a(s, 1000)[0] for s in range(200)]
    assert seq == [b(s, 1000)[0] for s in range(200)]
    assert set(seq) == set(range(8))
    assert seq != [AugmentationPlan("random", seed=4)(s, 1000)[0] for s in range(200)]


def test_batch_square_cycles_whole_group():
    plan = AugmentationPlan("batch", per_step=4, square=True)
    assert plan(0, 100) == [0, 1, 2, 3]
    assert plan(1, 100) == [4, 5, 6, 7]


def test_batch_non_square_keeps_parity_per_step():
    plan = AugmentationPlan("batch", per_step=8, square=False)
    assert plan.per_step == 4
    for step in range(10):
        ks = plan(step, 100)
        assert len({k % 2 for k in ks}) == 1
    assert sorted(plan(0, 100)) == [0, 2, 4, 6]
    assert sorted(plan(1, 100)) == [1, 3, 5, 7]


def test_bad_modes_raise():
    with pytest.raises(InputError):
        AugmentationPlan("sideways")
    with pytest.raises(InputError):
        AugmentationPlan("batch", per_step=9)
    with pytest.raises(InputError):
        Staircase(0.1, 0)
