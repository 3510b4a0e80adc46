"""Shared fixtures: tiny images on disk and composed Hydra configs with a temporary output dir."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

import dipsys  # noqa: F401  (registers the config resolvers)

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("DIPSYS_ROOT", str(ROOT))


def write_png(path: Path, array: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), array)
    return path


@pytest.fixture
def rgb_image(tmp_path: Path) -> Path:
    """A 72×100 smooth colour image with some structure."""
    y, x = np.mgrid[0:72, 0:100].astype(np.float32)
    image = np.stack([x / 100, y / 72, 0.5 + 0.4 * np.sin(x / 7) * np.cos(y / 5)], axis=-1)
    return write_png(tmp_path / "input.png", (image * 255).astype(np.uint8))


def compose_config(output_dir: Path, overrides: list[str] | None = None) -> DictConfig:
    """Compose conf/train.yaml as train.py would, writing outputs to ``output_dir``."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("train", overrides=overrides or [], return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        cfg.paths.output_dir = str(output_dir)
    return cfg


@pytest.fixture
def make_cfg(tmp_path: Path):
    """``make_cfg(*overrides, name="run")`` → a debug=ci config writing into tmp_path/<name>."""

    def factory(*overrides: str, name: str = "run") -> DictConfig:
        return compose_config(tmp_path / name, ["debug=ci", *overrides])

    yield factory
    GlobalHydra.instance().clear()
