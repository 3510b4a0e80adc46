"""The report of ``scripts/evaluate_watermark.py``: its tables, per-figure cells and gains.

Every row holds ``figures``: method → ``{"psnr", "ssim"}`` inside the box (see the script).
"""

from __future__ import annotations

import statistics

#: the single-image table's methods, in its column order
METHODS = ("input", "dipsys", "inpaint_telea", "inpaint_ns")


def figure_cells(rows: list[dict], methods, pick=None) -> list[str]:
    """``PSNR / SSIM`` cells per method: of the one row, or ``pick`` (mean, min) over the rows,
    the PSNR then in bold."""
    if pick is None:
        (row,) = rows
        return [
            f"{row['figures'][m]['psnr']:.2f} / {row['figures'][m]['ssim']:.3f}" for m in methods
        ]
    cells = []
    for m in methods:
        psnr = pick(r["figures"][m]["psnr"] for r in rows)
        ssim = pick(r["figures"][m]["ssim"] for r in rows)
        cells.append(f"**{psnr:.2f}** / {ssim:.3f}")
    return cells


def gain_summary(rows: list[dict]) -> str:
    """dipsys − input inside the box over ``rows``: mean, min and how many rows it is above."""
    gains = [r["figures"]["dipsys"]["psnr"] - r["figures"]["input"]["psnr"] for r in rows]
    lowest = round(min(gains), 2) + 0.0  # a kept input's float noise is not "−0.00"
    return (
        f"dipsys − input inside the box: mean {statistics.mean(gains):+.2f} dB, min "
        f"{lowest:+.2f} dB, above the input by 0.01 dB or more on "
        f"{sum(g >= 0.01 for g in gains)} of {len(gains)}"
    )


def report(single: list[dict], multi: list[dict], command_args: str) -> str:
    """The markdown page: the single-image table and the multi-image one, with their summaries."""
    lines = [
        "# Watermark removal on real photos (dev set)",
        "",
        "Written by `python scripts/evaluate_watermark.py "
        + command_args
        + "` (numbers as measured; wall times on a 2-core CPU shared with other work, so",
        "about twice a quiet machine's). Photos and logos: SWCNN test set (research use),",
        "composited by `scripts/watermark_cases.py`. Figures: PSNR (dB) / SSIM inside the box.",
        "Inpainting baselines fill the logo's exact footprint (α > 0, dilated 1 px); dipsys is",
        "given the box only. 'edge ratio' is the share of the recovered logo's outline step",
        "the removal leaves (the input is kept above the bound); 'strength' the share of the",
        "found opacity applied (1 while the edge ratio is 0.5 or less, 0 at the bound);",
        "'reading' whether the logo was read as light or dark.",
        "",
    ]
    if single:
        lines += [
            "| case | input | dipsys | inpaint Telea | inpaint NS | opacity (found / true) "
            "| edge ratio | strength | reading | kept input | wall (s) |",
            "|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in single:
            cells = figure_cells([r], METHODS)
            kept = "yes" if r["kept_input"] else ""
            removal = r.get("removal", {})
            found = removal.get("found_opacity", removal.get("opacity"))
            opacity = f"{found:.3f} / {r['true_opacity']:.3f}" if found is not None else ""
            ratio = removal.get("edge_ratio")
            ratio = f"{ratio:.2f}" if ratio is not None else ""
            strength = removal.get("strength")
            strength = f"{strength:.2f}" if strength is not None else ""
            lines.append(
                f"| {r['case']} | "
                + " | ".join(cells)
                + f" | {opacity} | {ratio} | {strength} | {removal.get('polarity', '')} | {kept} "
                f"| {r['wall_s']} |"
            )
        for label, pick in (("mean", statistics.mean), ("min", min)):
            cells = figure_cells(single, METHODS, pick)
            wall = pick(r["wall_s"] for r in single)
            lines.append(f"| {label} | " + " | ".join(cells) + f" | | | | | | {wall:.1f} |")
        lines += [
            "",
            f"{gain_summary(single)} cases (kept the input on "
            f"{sum(r['kept_input'] for r in single)}).",
            "",
        ]
    if multi:
        found_box = any(s["removal"].get("box_source") == "auto" for s in multi)
        how = "box given, same place in every photo"
        if found_box:
            how = "box found by the task (task.bbox=auto), scored in the true box"
        elif not any(s["removal"] for s in multi):
            how = "no box"
        lines += [
            f"## watermark_multi (three photos under one logo, {how})",
            "",
            "| set | logo | photo | input | dipsys | inpaint Telea | inpaint NS "
            "| opacity (found / true) | edge ratio | kept input |"
            + (" box found (true) |" if found_box else ""),
            "|---|---|---|---|---|---|---|---|---|---|" + ("---|" if found_box else ""),
        ]
        multi_methods = ("input", "dipsys", "inpaint_telea", "inpaint_ns")
        for s in multi:
            removal = s["removal"]
            found, ratio = "", ""
            if "opacity" in removal:
                found = f"{removal['opacity']:.3f} / {s['true_opacity']:.3f}"
                ratio = f"{removal['edge_ratio']:.2f}" if removal["edge_ratio"] is not None else ""
            kept = "yes" if s["kept_input"] else ""
            if found_box:
                kept += f" | {removal.get('box') or 'none'} ({s['box']})"
            for item in s["images"]:
                cells = figure_cells([item], multi_methods)
                lines.append(
                    f"| {s['set']} | {s['logo']} | {item['photo']} | "
                    + " | ".join(cells)
                    + f" | {found} | {ratio} | {kept} |"
                )
        items = [item for s in multi for item in s["images"]]
        for label, pick in (("mean", statistics.mean), ("min", min)):
            cells = figure_cells(items, multi_methods, pick)
            lines.append(f"| {label} | | | " + " | ".join(cells) + " | | | |" + " |" * found_box)
        walls = [s["wall_s"] for s in multi]
        lines += [
            "",
            f"{gain_summary(items)} images (the input kept on "
            f"{sum(s['kept_input'] for s in multi)} of {len(multi)} sets); wall "
            f"{min(walls):.0f}–{max(walls):.0f} s per set of three.",
            "",
        ]
    return "\n".join(lines)
