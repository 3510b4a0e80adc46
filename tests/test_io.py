import cv2
import numpy as np
import pytest
import torch

from dipsys.data.io import read_image, read_mask, write_image
from dipsys.errors import InputError
from tests.conftest import write_png


def test_round_trip(tmp_path):
    image = torch.rand(3, 20, 30)
    path = write_image(tmp_path / "a.png", image)
    back = read_image(path)
    assert back.shape == (3, 20, 30)
    assert (back - image).abs().max() <= 0.5 / 255 + 1e-6
    assert not list(tmp_path.glob(".*tmp*")), "temporary file left behind"


def test_channel_order_is_rgb(tmp_path):
    bgr = np.zeros((4, 4, 3), np.uint8)
    bgr[..., 2] = 255  # red in OpenCV's BGR order
    image = read_image(write_png(tmp_path / "red.png", bgr))
    assert image[0].min() == 1.0 and image[1:].max() == 0.0


def test_gray_rgba_and_16_bit(tmp_path):
    gray = read_image(write_png(tmp_path / "g.png", np.full((8, 9), 128, np.uint8)))
    assert gray.shape == (3, 8, 9)
    rgba = np.zeros((8, 9, 4), np.uint8)
    rgba[..., 3] = 10
    assert read_image(write_png(tmp_path / "rgba.png", rgba)).shape == (3, 8, 9)
    deep = read_image(write_png(tmp_path / "d.png", np.full((8, 9, 3), 65535, np.uint16)))
    assert deep.max() == 1.0 and deep.dtype == torch.float32


def test_mask_is_one_channel(tmp_path):
    mask = read_mask(write_png(tmp_path / "m.png", np.full((5, 6, 3), 255, np.uint8)))
    assert mask.shape == (1, 5, 6) and mask.min() == 1.0


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.png", None, "not found"),
        ("empty.png", b"", "empty"),
        ("corrupt.png", b"this is not a png", "cannot decode"),
        ("notes.txt", b"hello", "unsupported image type"),
    ],
)
def test_bad_files(tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        read_image(path)


def test_write_gray(tmp_path):
    path = write_image(tmp_path / "t.png", torch.full((1, 6, 7), 0.5))
    array = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    assert array.shape == (6, 7) and array[0, 0] == 128
