"""`fingereval export`: results as CSV, Parquet, a Markdown table of means, or FingER-Instruct data for people."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from fingereval.cli._common import err, fail, warn
from fingereval.errors import DataError, FingerEvalError


def export(
    results: list[Path] = typer.Argument(..., help="results JSONL files (from fingereval score --out)"),
    to: str = typer.Option(..., "--to", help="csv, parquet, md (a Markdown table of means per --group-by), or "
                           "instruct (FingER-Instruct JSONL, one record per question, for `annotate serve`)"),
    out_path: Optional[Path] = typer.Option(None, "--out", "-o", help="write here (csv and md: else to stdout)"),
    questions: bool = typer.Option(False, "--questions", help="one row per question instead of one per video"),
    group_by: str = typer.Option("model", "--group-by", help="md: group by this field (model, results_file, or a "
                                 "manifest field such as the generator's name)"),
    manifest: Optional[Path] = typer.Option(None, help="join this manifest's fields (default: the one a folder run "
                                            "wrote beside each results file)"),
    videos_root: Optional[Path] = typer.Option(None, "--videos-root", help="instruct: where the videos are now, "
                                               "when they moved (as `fingereval report --videos-root`)"),
    rubric: Optional[str] = typer.Option(None, "--rubric", help="rubric file or shipped name (docs/rubric.md): its "
                                         "dimensions are the columns (default: the dimensions the results hold)"),
):
    """One row per video (overall, dimensions, lost questions) or per question, for pandas and spreadsheets; or
    `--to instruct`: the model's answers and reasons as FingER-Instruct data for people to check."""
    from fingereval.export import FORMATS, means_markdown, table as read_table, to_csv, to_parquet
    from fingereval.rubric import load_rubric

    to = to.strip().lower()
    if to == "instruct":
        if questions or manifest is not None:
            fail(ValueError("--to instruct is one record per question with the results' own fields; "
                            "leave out --questions and --manifest"))
        return _export_instruct(results, out_path, videos_root)
    if videos_root is not None:
        fail(ValueError("--videos-root goes with --to instruct (a table names the videos as the results do)"))
    if to not in FORMATS:
        fail(ValueError(f"--to {to}: choose one of {', '.join(FORMATS)}, instruct"))
    if to == "parquet" and out_path is None:
        fail(ValueError("--to parquet writes a binary file: give --out results.parquet"))
    if to == "md" and questions:
        fail(ValueError("--to md is a table of means per video group; --questions goes with csv or parquet"))
    try:
        table, dimensions = read_table(results, questions=questions, manifest=manifest, on_warning=warn,
                                       rubric=load_rubric(rubric) if rubric else None)
        if to == "parquet":
            to_parquet(table, out_path)
            text = None
        else:
            text = to_csv(table) if to == "csv" else means_markdown(table, group_by, dimensions)
    except FingerEvalError as e:
        fail(e)
    if text is not None and out_path is None:
        typer.echo(text, nl=False)
        return
    if text is not None:
        out_path.write_text(text, encoding="utf-8")
    err.print(f"wrote {len(table)} rows to {out_path}", highlight=False, markup=False)


def _export_instruct(results: list[Path], out_path: Path | None, videos_root: Path | None) -> None:
    """FingER-Instruct records of the results, videos relative to --out (as `annotate serve`, `calibrate`,
    `bench qa` and `train sft` read them: relative to the data file's folder)."""
    from fingereval.data.instruct import instruct_from_results, write_instruct
    from fingereval.measure.results import read_results
    from fingereval.report import locate_video

    if out_path is None:
        fail(ValueError("--to instruct writes video paths relative to its file: give --out qa.jsonl"))
    if any(out_path.resolve() == path.resolve() for path in results):
        fail(ValueError(f"--out {out_path} is one of the results files: give another file name"))
    try:
        scored, missing = [], set()
        for path in results:
            found = read_results(path, warn, "left out of the export")
            if not found:
                raise DataError(f"results file {path} holds no result; write one with "
                                "`fingereval score ... --out FILE`")
            for result in found:
                video = locate_video(result.video, path.parent, videos_root)  # the report's rule (docs/report.md)
                if not _is_file(video) and video not in missing:
                    missing.add(video)
                    hint = "" if videos_root else "; give --videos-root DIR if the videos moved"
                    warn(f"video {video} not found: its records are written, and `annotate serve` skips them "
                         f"until it is there{hint}")
                scored.append((result, video.absolute(), _image(result, path.parent, videos_root)))
        records = instruct_from_results(scored, warn)
        if not records:
            raise DataError(f"no question to check in {', '.join(map(str, results))}: every video failed or "
                            "had no questions; score some videos first (`fingereval score ... --out FILE`)")
        write_instruct(out_path, records)
    except (FingerEvalError, OSError) as e:
        fail(e)
    videos = len({r.video for r in records})
    err.print(f"wrote {len(records)} records ({videos} videos) to {out_path}; next: "
              f"`fingereval annotate serve --data {out_path}`", highlight=False, markup=False)
    _name_the_rubrics(result for result, *_ in scored)


def _image(result, folder: Path, videos_root: Path | None) -> Path | None:
    """Where an image-to-video result's conditioning image is now: found as its video is (the report's rule); a
    missing one is written anyway, with a warning, as a missing video is."""
    from fingereval.report import locate_video

    if result.image is None:
        return None
    image = locate_video(result.image.path, folder, videos_root)
    if not _is_file(image):
        warn(f"image {image} not found: its records name it all the same"
             + ("" if videos_root else "; give --videos-root DIR if the images moved"))
    return image.absolute()


def _name_the_rubrics(results) -> None:
    """The tools that read the records check their dimensions against a rubric (FingER's unless --rubric)."""
    from fingereval.rubric import default_rubric

    others = sorted({r.rubric.name for r in results if r.rubric is not None} - {default_rubric().name})
    if others:
        warn(f"the results were scored with the rubric {', '.join(others)}: give the same --rubric to "
             "the commands that read these records (`annotate serve`, `bench qa`, `data check`)")


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a name too long for the file system: no such file either
        return False
