"""The self-contained HTML report of results files: `write_report([results.jsonl], report.html)`.

Reads VideoResult lines (as `fingereval score --out` writes them), finds each video file, cuts a small JPEG
strip from it and builds one HTML file with everything inline. A missing or unreadable video still gets its
row and its detail, with a note in place of the frames. An image-to-video result's conditioning image is found the
way its video is (its recorded path, relative or moved), checked against its recorded hash and shown first.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

from fingereval.errors import DataError, VideoError
from fingereval.measure.results import dimension_columns, read_results as results_in
from fingereval.report.frames import Frame, frame_strip, image_thumbnail
from fingereval.report.html import ReportVideo, build_report
from fingereval.report.reliability import reliability_html
from fingereval.rubric import Rubric
from fingereval.schema import VideoResult

__all__ = ["Frame", "LoadedResult", "ReportSummary", "ReportVideo", "build_report", "frame_strip", "locate_video",
           "read_results", "report_videos", "write_report"]


@dataclass
class ReportSummary:
    out: Path
    videos: int
    failed: int
    without_frames: int
    bytes: int


@dataclass
class LoadedResult:
    result: VideoResult
    folder: Path  # the results file's folder: relative video paths are taken from here


def read_results(paths: Sequence[str | Path], on_warning: Callable[[str], None]) -> list[LoadedResult]:
    """Every result in the files, in file order; a bad line is warned about (with its number) and left out.
    A video scored twice by one model (a resumed run, or a rerun in a second file) keeps its last result in its
    first place; the same video scored by two models keeps both."""
    kept: dict[tuple[str, str | None], LoadedResult] = {}
    for path in map(Path, paths):
        for result in results_in(path, on_warning, "left out of the report"):
            kept[(result.id or result.video, result.model)] = LoadedResult(result, path.parent)
    return list(kept.values())


def locate_video(video: str, results_dir: Path, videos_root: Path | None) -> Path:
    """Where the video is now: a relative path under `videos_root` (else the results file's folder); an
    absolute path that is gone, by its file name under `videos_root` (the videos were moved)."""
    given = Path(video)
    if not given.is_absolute():
        return (videos_root or results_dir) / given
    if given.exists() or videos_root is None:
        return given
    return videos_root / PurePath(video.replace("\\", "/")).name


def report_videos(results: Sequence[LoadedResult], *, videos_root: Path | None = None, frames: int = 6,
                  width: int = 160, on_warning: Callable[[str], None], on_video: Callable[[], None] = lambda: None
                  ) -> list[ReportVideo]:
    """Each result with its frame strip, or a note; one warning per missing or unreadable file."""
    strips: dict[Path, list[Frame] | str] = {}  # a file two results share (two models) is decoded once
    videos = []
    for loaded in results:
        r = loaded.result
        if frames <= 0:
            videos.append(ReportVideo(r, note="frames left out (--frames 0)"))
            on_video()
            continue
        path = locate_video(r.video, loaded.folder, videos_root)
        if path not in strips:
            try:
                strips[path] = frame_strip(path, frames, width)
            except VideoError as e:
                hint = "" if videos_root else "; give --videos-root DIR if the videos moved"
                strips[path] = f"no frames: {e}"
                on_warning(f"{e}{hint}; its row has a note instead of frames")
        strip = strips[path]
        video = ReportVideo(r, frames=strip) if isinstance(strip, list) else ReportVideo(r, note=strip)
        if r.image is not None:
            video.image, video.image_note = _thumbnail(r, loaded.folder, videos_root, width, on_warning)
        videos.append(video)
        on_video()
    return videos


def _thumbnail(r: VideoResult, folder: Path, videos_root: Path | None, width: int,
               on_warning: Callable[[str], None]) -> tuple[str | None, str | None]:
    """(the result's conditioning image as a data URI, or None and the note why), found as its video is found."""
    try:
        return image_thumbnail(locate_video(r.image.path, folder, videos_root), r.image.sha256, width), None
    except VideoError as e:  # ImageError: missing, unreadable, or not the image the result recorded
        hint = "" if videos_root else "; give --videos-root DIR if the images moved"
        on_warning(f"{e}{hint}; its row has a note instead of the image")
        return None, f"no image: {e}"


def write_report(results_paths: str | Path | Sequence[str | Path], out: str | Path, *,
                 videos_root: str | Path | None = None, frames: int = 6, width: int = 160, title: str | None = None,
                 calibration_report: str | Path | None = None, on_warning: Callable[[str], None],
                 on_video: Callable[[], None] = lambda: None, rubric: Rubric | None = None) -> ReportSummary:
    """Read the results files, write the report to `out`, and say what went into it. The dimension columns are
    the rubric's (default: those the results hold)."""
    paths = [Path(results_paths)] if isinstance(results_paths, (str, Path)) else [Path(p) for p in results_paths]
    out = Path(out)
    # every side file is read before the videos are decoded, so a bad one is named at once
    reliability = reliability_html(Path(calibration_report)) if calibration_report else ""
    results = read_results(paths, on_warning)
    names = ", ".join(str(p) for p in paths)
    if not results:
        raise DataError(f"results file {names} holds no results; score some videos into it first "
                        "(`fingereval score --manifest M --out FILE`)")
    dimensions = dimension_columns([loaded.result for loaded in results], rubric, names)  # before any decoding
    root = Path(videos_root) if videos_root is not None else None
    videos = report_videos(results, videos_root=root, frames=frames, width=width, on_warning=on_warning,
                           on_video=on_video)
    page = build_report(videos, title=title or f"fingereval report: {', '.join(p.name for p in paths)}", source=names,
                        reliability=reliability, dimensions=dimensions)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(page, encoding="utf-8")
    return ReportSummary(out=out, videos=len(videos), failed=sum(v.result.error is not None for v in videos),
                         without_frames=sum(not v.frames for v in videos), bytes=out.stat().st_size)
