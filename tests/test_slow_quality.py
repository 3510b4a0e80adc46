"""Slow: the documented quality claims, held at a reduced but honest scale (``pytest -m slow``).

Each test runs several synthetic cases with exact ground truth (``dipsys.data.synthetic``) or the
bundled samples through ``dipsys.run.train``, one thread, seeded, and compares against the
input or the ablated variant the docs compare against. The figures each test saw are printed
(``pytest -m slow -s``); docs/results.md says which claim each test holds.
"""

from __future__ import annotations

import statistics

import pytest

from dipsys.data.synthetic import (
    colorize,
    fg_bg_composite,
    haze_case,
    load_sample,
    watermark_suite,
)
from dipsys.ops import watermark_polarity
from dipsys.run import train
from tests.conftest import psnr_np
from tests.test_quality import FAST, _at_least, _hints_from, _photo, _save

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("one_thread")]


@pytest.fixture
def run(make_cfg):
    def factory(*overrides: str, name: str) -> dict:
        return train(make_cfg(*FAST, *overrides, name=name))

    return factory


PHOTOS = ("chelsea", "coffee", "astronaut")


def test_dehazing_clears_haze_and_beats_the_dark_channel_on_average(run, tmp_path):
    gains, over_dcp = [], []
    for index, name in enumerate(PHOTOS):
        case = haze_case(_photo(name, (96, 96), index), seed=10 + index)
        files = [
            f"data.image={_save(tmp_path / f'hazy{index}.png', case['hazy'])}",
            f"data.gt={_save(tmp_path / f'clean{index}.png', case['clean'])}",
        ]
        metrics = run("task=dehaze", *files, "data.max_side=96", "trainer.max_steps=400", name=name)
        gains.append(metrics["psnr"] - metrics["input"]["psnr"])
        over_dcp.append(metrics["psnr"] - metrics["baselines"]["dcp"]["psnr"])
        print(
            f"dehaze {name}: gain {gains[-1]:+.2f} dB over the input, {over_dcp[-1]:+.2f} over DCP"
        )
    _at_least("dehaze min gain over the input", min(gains), 3.0)
    # the bounded airlight puts dehaze above DCP on average (docs/results_dehazing.md; with the
    # dark-channel airlight these three cases were −0.07 / −0.13 / −0.05 dB against it)
    _at_least("dehaze mean difference to DCP", statistics.mean(over_dcp), 0.3)


def test_segmentation_floors_on_textured_composites(run, tmp_path):
    textures = [("brick", "grass"), ("gravel", "brick"), ("grass", "gravel")]
    colors = [(0.9, 0.45, 0.3), (0.35, 0.8, 0.3), (0.3, 0.4, 0.9)]
    auto, hinted = [], []
    for index, (fg, bg) in enumerate(textures):
        case = fg_bg_composite(
            colorize(load_sample(fg), colors[index]),
            colorize(load_sample(bg), colors[(index + 1) % 3]),
            seed=20 + index,
            size=(64, 80),
        )
        files = [
            f"data.image={_save(tmp_path / f'image{index}.png', case['image'])}",
            f"data.gt_mask={_save(tmp_path / f'mask{index}.png', case['mask'])}",
            "data.max_side=80",
            "trainer.max_steps=400",
        ]
        auto.append(run("task=segmentation", *files, name=f"auto{index}")["iou"])
        hints = _hints_from(case["mask"], tmp_path / f"hints{index}")
        hinted.append(run("task=segmentation", *files, *hints, name=f"hinted{index}")["iou"])
    print(f"segmentation IoU, automatic hints {auto}, given hints {hinted}")
    _at_least("segmentation min IoU with given hints", min(hinted), 0.85)
    _at_least("segmentation mean IoU with automatic hints", statistics.mean(auto), 0.75)


def test_transparency_pair_recovers_the_bundled_layers(run):
    metrics = run("task=transparency_pair", "trainer.max_steps=1200", name="pair")
    print(
        f"transparency_pair {metrics['psnr']:.2f} / {metrics['psnr2']:.2f} dB, α {metrics['alpha']}"
    )
    _at_least("transparency_pair layer 1", metrics["psnr"], metrics["input"]["psnr"] + 5.0)
    _at_least("transparency_pair layer 2", metrics["psnr2"], metrics["input"]["psnr"] + 5.0)


def _suite_gains(inverted: bool) -> list[float]:
    gains = []
    for case in watermark_suite(inverted=inverted):
        x0, y0, x1, y1 = case["box"]
        crop = case["image"].permute(1, 2, 0).double().numpy()[y0:y1, x0:x1]
        truth = case["clean"].permute(1, 2, 0).double().numpy()[y0:y1, x0:x1]
        result = watermark_polarity.remove_light_or_dark(crop)["result"]
        gains.append(psnr_np(result, truth) - psnr_np(crop, truth))
    print(
        "watermark suite gains" + (" (dark text):" if inverted else ":"),
        [round(g, 2) for g in gains],
    )
    return gains


@pytest.fixture(scope="module")
def watermark_suite_gains() -> list[float]:
    """PSNR gain over the input in the box of one photo's removal (what ``task=watermark``
    exports there) on the 20 cases of ``watermark_suite``: faint text, white for half the
    seeds, a saturated colour for the others."""
    return _suite_gains(inverted=False)


def test_watermark_removal_on_text_logos_over_the_bundled_photos(watermark_suite_gains):
    """Measured: mean +6.95 dB over the input, above it on 17 of 20, kept on 1, below on 2
    (down to −1.27 dB, the cat photo's fur; docs/results_watermark.md)."""
    gains = watermark_suite_gains
    _at_least("mean gain over the input (dB)", statistics.mean(gains), 3.0)
    _at_least("cases above the input", sum(g > 0.005 for g in gains), 12)


def test_dark_text_over_the_bundled_photos_is_removed_too():
    """The same 20 cases with the text's colour inverted (black, or a saturated colour's
    complement): the dark reading on the photo's negative (``watermark_polarity``). Measured:
    +3.26 dB, above the input on 9, below on 10 (black text read as light, down to −8.65 dB);
    the light reading alone: +2.62 dB, above on 6."""
    gains = _suite_gains(inverted=True)
    _at_least("mean gain over the input, dark text (dB)", statistics.mean(gains), 3.0)
    _at_least("cases above the input, dark text", sum(g > 0.005 for g in gains), 8)


def test_an_unsure_watermark_removal_is_applied_weakly(watermark_suite_gains):
    """The removal's strength falls with the share of the outline's step it leaves
    (``removal_strength``); at full strength the worst case of the suite is −5.20 dB, scaled
    −1.27 dB."""
    _at_least("worst gain over the input (dB)", min(watermark_suite_gains), -2.0)
