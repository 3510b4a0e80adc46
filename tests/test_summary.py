"""summary.png: input | layers | baselines | ground truth, a row per stage, strips for video."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from dipsys.callbacks.summary import ROW_TILES, STRIP_FRAMES, TILE_HEIGHT, tile, write_summary
from tests.conftest import write_png

BAND = tile("x", np.zeros((4, 4, 3), np.uint8)).shape[0] - TILE_HEIGHT  # label band height


def _flat(value: int, size=(40, 60)) -> np.ndarray:
    return np.full((*size, 3), value, np.uint8)


def test_one_row_in_order_input_layers_baselines_truth(tmp_path):
    run = tmp_path / "run"
    write_png(run / "layers" / "clean.png", _flat(60))
    write_png(run / "layers" / "transmission.png", _flat(90)[..., 0])  # gray
    write_png(run / "baselines" / "dcp.png", _flat(120))
    image = write_png(tmp_path / "in.png", _flat(30))
    truth = write_png(tmp_path / "gt.png", _flat(150))
    path = write_summary(run, [image], [("ground truth", truth)])
    sheet = cv2.imread(str(path))
    width = round(60 * TILE_HEIGHT / 40)
    assert sheet.shape[0] == BAND + TILE_HEIGHT + 6  # one row and its gap
    assert sheet.shape[1] == 5 * width + 4 * 6
    levels = [int(sheet[BAND + 10, i * (width + 6) + 10, 0]) for i in range(5)]
    assert levels == [30, 60, 90, 120, 150]  # input, clean, transmission, dcp, truth


def test_a_system_adds_one_row_per_stage(tmp_path):
    run = tmp_path / "run"
    write_png(run / "layers" / "clean.png", _flat(60))
    for stage in range(3):
        write_png(run / f"stage_{stage}" / "layers" / "clean.png", _flat(10 + stage))
    path = write_summary(run, [write_png(tmp_path / "in.png", _flat(30))])
    sheet = cv2.imread(str(path))
    row = BAND + TILE_HEIGHT + 6
    assert sheet.shape[0] == 4 * row
    stage_levels = [int(sheet[i * row + BAND + 10, 10, 0]) for i in (1, 2, 3)]
    assert stage_levels == [10, 11, 12]


def test_a_video_is_a_strip_of_frames_per_item(tmp_path):
    run = tmp_path / "run"
    for index in range(8):
        write_png(run / "layers" / "clean" / f"{index:03d}.png", _flat(20 * index))
        write_png(tmp_path / "frames" / f"{index:03d}.png", _flat(5))
    (run / "layers" / "clean.mp4").write_bytes(b"not read")
    path = write_summary(run, [tmp_path / "frames"])
    sheet = cv2.imread(str(path))
    width = round(60 * TILE_HEIGHT / 40)
    row = BAND + TILE_HEIGHT + 6
    assert sheet.shape == (2 * row, STRIP_FRAMES * width + (STRIP_FRAMES - 1) * 6, 3)
    firsts = [int(sheet[row + BAND + 10, i * (width + 6) + 10, 0]) for i in range(STRIP_FRAMES)]
    assert firsts == [0, 40, 100, 140]  # frames 0, 2, 5, 7 of 8


def test_long_rows_wrap_and_an_empty_run_has_no_summary(tmp_path):
    run = tmp_path / "run"
    assert write_summary(run, [write_png(tmp_path / "in.png", _flat(30))]) is None
    for index in range(ROW_TILES + 1):
        write_png(run / "layers" / f"layer{index}.png", _flat(40))
    sheet = cv2.imread(str(write_summary(run, [tmp_path / "in.png"])))
    assert sheet.shape[0] == 2 * (BAND + TILE_HEIGHT + 6)


def test_a_run_writes_its_summary(make_cfg):
    from dipsys.run import train

    cfg = make_cfg("trainer.max_steps=2")
    train(cfg)
    sheet = cv2.imread(str(Path(cfg.paths.output_dir) / "summary.png"))
    # input, airlight, clean, transmission, DCP, non-local, ground truth of the 480×320 sample
    assert sheet.shape == (BAND + TILE_HEIGHT + 6, 7 * 288 + 6 * 6, 3)
