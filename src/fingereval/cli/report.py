"""`fingereval report`: results files as one self-contained HTML page (frames, scores, why points were lost)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from fingereval.cli._common import err, progress, reports_errors, warn


@reports_errors
def report(
    results: Annotated[list[Path], typer.Argument(help="results JSONL files (from fingereval score --out)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="the HTML file to write")] = Path("report.html"),
    videos_root: Annotated[Optional[Path], typer.Option(
        "--videos-root", help="find the videos here: relative paths under it, moved files by their name")] = None,
    frames: Annotated[int, typer.Option(help="frames per video in the strip (0: none)", min=0)] = 6,
    width: Annotated[int, typer.Option(help="width of each frame in pixels", min=16)] = 160,
    title: Annotated[Optional[str], typer.Option(help="the page's title (default: the results file names)")] = None,
    calibration_report: Annotated[Optional[Path], typer.Option(
        "--calibration-report", help="a `bench qa --json` or `calibrate --json` output: its ECE, Brier and "
        "reliability diagram join the page")] = None,
    rubric: Annotated[Optional[str], typer.Option(
        "--rubric", help="rubric file or shipped name (docs/rubric.md): its dimensions are the columns (default: "
        "the dimensions the results hold)")] = None,
):
    """One HTML file that opens with no network: a sortable table of videos, each dimension's distribution, and
    per video its frames and its questions, the ones that lost the most points first."""
    from fingereval.report import write_report
    from fingereval.rubric import load_rubric

    if videos_root is not None and not videos_root.is_dir():
        raise typer.BadParameter(f"{videos_root} is not a folder", param_hint="--videos-root")
    used = load_rubric(rubric) if rubric else None  # a bad rubric is named before any video is decoded
    with progress("frames") as bar:
        task = bar.add_task("frames", total=None)
        summary = write_report(results, out, videos_root=videos_root, frames=frames, width=width, title=title,
                               calibration_report=calibration_report, on_warning=warn, on_video=lambda: bar.advance(task),
                               rubric=used)
    notes = [f"{summary.failed} failed"] if summary.failed else []
    notes += [f"{summary.without_frames} without frames"] if summary.without_frames else []
    err.print(f"wrote {summary.out} ({summary.videos} videos{', ' + ', '.join(notes) if notes else ''}, "
              f"{summary.bytes / 1e6:.1f} MB)", highlight=False, markup=False)
