"""Shared fixtures: tiny images on disk and composed Hydra configs with a temporary output dir."""

from __future__ import annotations

import os
from pathlib import Path

if os.environ.get("PYTEST_XDIST_WORKER"):
    # parallel workers share the machine's cores: one thread each (set before the numerical
    # libraries load their thread pools), and in the runs they start
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = "1"

import cv2
import numpy as np
import pytest
import torch
from omegaconf import DictConfig

from dipsys.config import compose_config

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("DIPSYS_ROOT", str(ROOT))
if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)
    cv2.setNumThreads(1)


def psnr_np(estimate: np.ndarray, truth: np.ndarray) -> float:
    """PSNR (dB, peak 1) of two arrays in [0, 1]."""
    return float(-10 * np.log10(np.mean((estimate - truth) ** 2)))


def textured_photos(
    count: int, height: int, width: int, blobs: tuple[int, int], grain: float
) -> np.ndarray:
    """``count`` different photo-like images: a ``blobs`` grid of random colours, bicubically
    upsampled, plus fine grain (σ ``grain``, blurred by 1 px); photo i is drawn from seed i.

    Shape:
        - output: ``(count, height, width, 3)`` float64 in [0, 1]
    """
    photos = []
    for seed in range(count):
        rng = np.random.default_rng(seed)
        coarse = rng.uniform(0.1, 0.8, (*blobs, 3)).astype(np.float32)
        coarse = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
        noise = rng.normal(0, grain, (height, width, 3)).astype(np.float32)
        noise = cv2.GaussianBlur(noise, (0, 0), 1)
        photos.append(np.clip(coarse + noise, 0, 1))
    return np.stack(photos).astype(np.float64)


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


@pytest.fixture
def make_cfg(tmp_path: Path):
    """``make_cfg(*overrides, name="run")`` → a debug=ci config writing into tmp_path/<name>."""

    def factory(*overrides: str, name: str = "run") -> DictConfig:
        return compose_config(["debug=ci", *overrides], output_dir=tmp_path / name)

    return factory


@pytest.fixture
def one_thread():
    """One intra-op thread for the test: its figures do not depend on the machine's core count."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
