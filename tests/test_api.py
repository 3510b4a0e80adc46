"""dipsys.decompose: the layers at the input's size, the metrics, the run folder."""

from __future__ import annotations

import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

import dipsys
from dipsys.api import _input_key, override_value
from dipsys.errors import InputError
from tests.conftest import write_png

TINY = {"data__max_side": 64, "data__steps_per_epoch": 2}


def test_decompose_returns_the_exported_layers_at_the_original_size(rgb_image, tmp_path, capsys):
    result = dipsys.decompose("dehaze", rgb_image, steps=3, run_dir=tmp_path / "run", **TINY)
    assert result.run_dir == tmp_path / "run"
    assert result.metrics == json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert result.metrics["task"] == "dehaze" and result.metrics["steps"] == 3
    assert "psnr" not in result.metrics  # the sample's ground truth does not follow a new input
    assert result.layers["clean"].shape == (72, 100, 3)
    assert result.layers["transmission"].shape == (72, 100)
    assert result.layers["clean"].dtype == np.float32
    png = cv2.cvtColor(
        cv2.imread(str(tmp_path / "run" / "layers" / "clean.png")), cv2.COLOR_BGR2RGB
    )
    assert np.array_equal(np.round(result.layers["clean"] * 255).astype(np.uint8), png)
    assert result.baselines == {}  # baselines are scored, so written, only beside a truth
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.fullmatch(
        r"dehaze: reconstruction PSNR \d+\.\d\d dB \(no ground truth\) · \d+ s · .+", last
    )


def test_overrides_reach_the_config_and_the_default_sample_keeps_its_truth(tmp_path):
    result = dipsys.decompose(
        "segmentation", steps=2, run_dir=tmp_path / "run", progress=False, **TINY, **{"seed": 3}
    )
    assert "iou" in result.metrics and "grabcut" in result.metrics["baselines"]
    assert max(result.metrics["working_size"]) == 64  # data.max_side=64 reached the config
    assert set(result.layers) >= {"foreground", "background", "mask"}


def test_a_video_comes_back_as_frames(tmp_path):
    rng = np.random.default_rng(0)
    for index in range(3):
        write_png(tmp_path / "clip" / f"{index}.png", rng.integers(0, 255, (40, 56, 3), np.uint8))
    result = dipsys.decompose(
        "video_dehaze", tmp_path / "clip", steps=2, run_dir=tmp_path / "run", progress=False, **TINY
    )
    assert result.layers["clean"].shape == (3, 40, 56, 3)
    assert result.metrics["frames"] == 3


def test_errors_are_one_clear_message_and_leave_no_run_folder(tmp_path):
    with pytest.raises(InputError, match="did you mean trainer.max_steps"):
        dipsys.decompose("dehaze", steps=2, trainer__max_stepz=2, run_dir=tmp_path / "a")
    with pytest.raises(InputError, match="image not found"):
        dipsys.decompose("dehaze", tmp_path / "nope.png", steps=2, run_dir=tmp_path / "b")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


@pytest.mark.parametrize(
    ("task", "key"),
    [("dehaze", "image"), ("transparency_pair", "images"), ("video_segmentation", "video")],
)
def test_the_input_goes_to_the_tasks_data_key(task, key):
    assert _input_key(task) == key


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "null"),
        (True, "true"),
        (3, "3"),
        (1e-3, "0.001"),
        ([1, 2, 3, 4], "[1,2,3,4]"),
        (Path("/a/b c.png"), "'/a/b c.png'"),
        ("plain/path.png", "plain/path.png"),
        ("it's", "'it\\'s'"),
        (["x.png", "y.png"], "[x.png,y.png]"),
    ],
)
def test_override_values(value, text):
    assert override_value(value) == text
