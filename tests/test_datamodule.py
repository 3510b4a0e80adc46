import numpy as np
import pytest
import torch

from dipsys.data import Constant, SingleImageDataModule, working_size
from dipsys.errors import InputError
from dipsys.ops.dihedral import dihedral
from tests.conftest import write_png


def test_working_size_rules():
    assert working_size(320, 480, 256, 32) == (160, 256)
    assert working_size(100, 100, 512, 32) == (96, 96)  # never upscaled beyond rounding
    assert working_size(40, 1000, 256, 32) == (64, 256)  # at least two multiples
    h, w = working_size(4000, 6000, 512, 32)
    assert max(h, w) <= 512 and h % 32 == 0 and w % 32 == 0


class _FakeTrainer:
    world_size = 1

    def __init__(self, max_steps, global_step=0):
        self.max_steps, self.global_step = max_steps, global_step


def _datamodule(path, **kwargs):
    dm = SingleImageDataModule(str(path), max_side=128, **kwargs)  # working size 64×96
    dm.trainer = _FakeTrainer(10)
    dm.setup("fit")
    return dm


def test_batches_follow_plan_and_schedule(rgb_image):
    dm = _datamodule(rgb_image, augmentation="cyclic", noise_schedule=Constant(0.05))
    batch = dm.batch(3)
    assert batch["k"] == [3]
    assert torch.equal(batch["target"][0], dihedral(dm.image, 3))
    assert float(batch["sigma"]) == pytest.approx(0.05)
    last = dm.batch(9)
    assert last["last"] and last["k"] == [0] and float(last["sigma"]) == 0.0


def test_batch_mode_stacks_transforms(rgb_image):
    dm = _datamodule(rgb_image, augmentation="batch", per_step=4)
    batch = dm.batch(1)  # non-square working image: odd transforms on odd steps
    assert batch["target"].shape[0] == 4
    assert all(k % 2 == 1 for k in batch["k"])


def test_iteration_resumes_at_global_step(rgb_image):
    dm = _datamodule(rgb_image, augmentation="cyclic", steps_per_epoch=4)
    dm.trainer.global_step = 6
    steps = [b["step"] for b in dm.train_dataloader()]
    assert steps == [6, 7, 8, 9]


def test_aligned_images_are_augmented_alike(tmp_path, rgb_image):
    hint = write_png(tmp_path / "hint.png", np.tile(np.arange(100, dtype=np.uint8), (72, 1)))
    dm = _datamodule(rgb_image, augmentation="cyclic", aligned={"fg": str(hint)})
    batch = dm.batch(5)
    assert batch["aligned/fg"].shape[1] == 1
    assert batch["aligned/fg"].shape[-2:] == batch["target"].shape[-2:]


def test_input_errors(tmp_path, rgb_image):
    tiny = write_png(tmp_path / "tiny.png", np.zeros((20, 20, 3), np.uint8))
    with pytest.raises(InputError, match="at least"):
        SingleImageDataModule(str(tiny)).prepare()
    other = write_png(tmp_path / "gt.png", np.zeros((50, 50, 3), np.uint8))
    with pytest.raises(InputError, match="ground truth"):
        SingleImageDataModule(str(rgb_image), gt=str(other)).prepare()
    dm = SingleImageDataModule(str(rgb_image))
    dm.trainer = _FakeTrainer(-1)
    with pytest.raises(InputError, match="max_steps"):
        dm.setup("fit")
