"""The closing line of a run (dipsys.cli_report)."""

from __future__ import annotations

from dipsys.cli_report import closing_line, main_figure

REMOVAL = {
    "kept_input": False,
    "edge_ratio": 0.6381,
    "opacity": 0.18,
    "box": [136, 121, 346, 280],
    "box_source": "auto",
}


def test_the_line_gives_the_figure_beside_the_input_and_baselines_the_time_and_folder(tmp_path):
    metrics = {
        "task": "dehaze",
        "psnr": 21.564,
        "input": {"psnr": 8.83},
        "baselines": {"dcp": {"psnr": 16.35}, "nonlocal": {"psnr": 13.46}},
        "wall_s": 95.6,
    }
    line = closing_line(metrics, tmp_path / "run")
    figure = "PSNR 21.56 dB (input 8.83, DCP 16.35, nonlocal 13.46)"
    assert line == f"dehaze: {figure} · 96 s · {(tmp_path / 'run').resolve()}"


def test_without_ground_truth_the_reconstruction_is_named_as_such():
    assert main_figure({"psnr_recon": 27.314}) == "reconstruction PSNR 27.31 dB (no ground truth)"


def test_a_box_removal_is_said_instead_of_the_dips_reconstruction():
    metrics = {"psnr_recon": 26.67, "removal": REMOVAL}
    assert main_figure(metrics) == (
        "removed in [136, 121, 346, 280] (box found; opacity 0.18, edge ratio 0.64)"
    )


def test_a_box_removal_follows_the_psnr_against_the_truth():
    metrics = {
        "psnr": 41.05,
        "input": {"psnr": 29.93},
        "removal": {**REMOVAL, "box_source": "given"},
    }
    assert main_figure(metrics).startswith("PSNR 41.05 dB (input 29.93) · removed in [136")
    assert "(box given;" in main_figure(metrics)


def test_a_kept_input_says_why():
    removal = {"kept_input": True, "box": None, "kept_input_reason": "no shared watermark found"}
    assert main_figure({"psnr_recon": 20.0, "removal": removal}) == (
        "input kept (no shared watermark found)"
    )


def test_a_removal_applied_at_part_strength_says_how_much_of_the_found_opacity():
    removal = {**REMOVAL, "strength": 0.6, "found_opacity": 0.3}
    assert main_figure({"psnr_recon": 26.67, "removal": removal}) == (
        "removed in [136, 121, 346, 280] (box found; opacity 0.18 (60% of the 0.30 found), "
        "edge ratio 0.64)"
    )
