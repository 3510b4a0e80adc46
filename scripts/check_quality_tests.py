"""Check that the quality tests can fail: run each under a deliberate defect, expect a failure.

    python scripts/check_quality_tests.py            # every (test, defect) pair below
    python scripts/check_quality_tests.py -k dehaze  # those whose test name holds 'dehaze'

Each pair runs ``pytest -p tests.breaks <test>`` with ``DIPSYS_BREAK=<defect>`` (see
``tests/breaks.py``) and is reported as ``fails`` (the test caught the defect) or ``PASSES``
(the test cannot see it). Exit status 1 when any test passes under its defect.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
Q = "tests/test_quality.py::"
#: test → the defect it must catch
PAIRS = {
    f"{Q}test_dehaze_clears_synthetic_haze": "skip:transmission",
    f"{Q}test_iterative_dehazing_hands_each_stage_the_last_clean_layer": "handoff",
    f"{Q}test_restarts_merge_within_the_runs": "median",
    f"{Q}test_video_dehaze_clears_every_frame": "skip:transmission",
    f"{Q}test_segmentation_finds_the_textured_object": "skip:mask",
    f"{Q}test_nlayer_segmentation_beats_chance_widely": "skip:mask",
    f"{Q}test_three_layer_system_beats_chance_widely": "skip:mask",
    f"{Q}test_video_segmentation_follows_the_moving_object": "skip:mask",
    f"{Q}test_video_transparency_separates_every_frame": "skip:layer2",
    f"{Q}test_watermark_box_is_cleaner_than_the_input": "affine",
    f"{Q}test_watermark_dip_box_beats_inpainting_and_stays_near_the_input": "skip:mask",
    "tests/test_slow_quality.py::test_watermark_removal_on_text_logos_over_the_bundled_photos": (
        "affine"
    ),
    "tests/test_slow_quality.py::test_an_unsure_watermark_removal_is_applied_weakly": "strength",
    "tests/test_watermark_single.py::test_thin_strokes_joined_to_a_logo_are_removed_with_it": (
        "parts"
    ),
    "tests/test_watermark_single.py::test_a_stack_under_one_logo_loses_its_thin_strokes_too": (
        "parts"
    ),
    "tests/test_watermark_single.py::test_an_outline_fit_beyond_white_does_not_lower_the_opacity": (
        "gamut"
    ),
    "tests/test_watermark_polarity.py::test_a_dark_logo_is_read_on_the_negative": "polarity",
    "tests/test_watermark_polarity.py::test_faint_black_letters_on_a_warm_photo_are_read_as_dark": (
        "lean"
    ),
    "tests/test_slow_quality.py::test_dark_text_over_the_bundled_photos_is_removed_too": (
        "polarity"
    ),
    "tests/test_perturbation.py": "sigma",
    "tests/test_iterative.py::test_a_stopped_system_spends_the_unrun_steps": "unspent",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", default="", help="only tests whose name holds this")
    args = parser.parse_args()
    missed = 0
    for test, defect in PAIRS.items():
        if args.k not in test:
            continue
        start = time.time()
        env = {**os.environ, "DIPSYS_BREAK": defect}
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-n",
            "0",  # one test, in this process: the defect plugin patches it here
            "-p",
            "tests.breaks",
            "-p",
            "no:cacheprovider",
            "-m",
            "slow or not slow",  # the slow tests too (the default options leave them out)
            test,
        ]
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        caught = done.returncode == 1  # tests ran and failed (5: none collected; 2+: errors)
        missed += not caught
        verdict = "fails" if caught else ("PASSES" if done.returncode == 0 else "ERROR")
        print(f"{verdict:6}  {defect:20} {test}  ({time.time() - start:.0f} s)", flush=True)
    sys.exit(1 if missed else 0)


if __name__ == "__main__":
    main()
