"""`fingereval annotate to-labelstudio` / `from-labelstudio`: interchange with a Label Studio project."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from fingereval.annotate.labelstudio import LOCAL_FILES_PREFIX, from_labelstudio, to_labelstudio
from fingereval.cli._common import reports_errors, warn
from fingereval.cli.annotate import annotate_app


@annotate_app.command("to-labelstudio")
@reports_errors
def to_labelstudio_command(
    qa: Annotated[Path, typer.Argument(help="FingER-Instruct JSONL (answers and reasons optional)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="folder for tasks.json and config.xml")],
    video_root: Annotated[Optional[Path], typer.Option(
        help="folder the video URLs are relative to (default: the JSONL file's folder)")] = None,
    url_prefix: Annotated[str, typer.Option(
        help="put before each video's path under the video root (default: Label Studio's local-files server)")]
        = LOCAL_FILES_PREFIX,
):
    """Write Label Studio tasks and a labeling config (yes/no, reason verdict, editable reason)."""
    written = to_labelstudio(qa, out, video_root=video_root, url_prefix=url_prefix)
    for note in written.skipped:
        warn(note)
    typer.echo(f"wrote {written.count} tasks -> {written.tasks_file} ({len(written.skipped)} items skipped), "
               f"labeling config -> {written.config_file}")
    if url_prefix == LOCAL_FILES_PREFIX:
        root = (video_root or qa.parent).absolute()
        typer.echo(f"serve the videos from Label Studio: start it with LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true "
                   f"LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT={root}, and add to the project a Local Files storage for "
                   f"the videos' folder (a folder below {root}: Label Studio refuses the root itself)")


@annotate_app.command("from-labelstudio")
@reports_errors
def from_labelstudio_command(
    export: Annotated[Path, typer.Argument(help="Label Studio export of the project, in JSON format")],
    out: Annotated[Path, typer.Option("--out", "-o", help="FingER-Instruct JSONL of the agreed items")],
):
    """Turn a Label Studio JSON export into FingER-Instruct lines (the agreed or adjudicated items)."""
    done = from_labelstudio(export, out)
    for problem in done.problems:
        warn(str(problem))
    typer.echo(f"wrote {done.written} records ({done.adjudicated} adjudicated) -> {done.out}; "
               f"{len(done.undecided)} items still without agreement, {len(done.unlabelled)} unlabelled, "
               f"{len(done.problems)} tasks unreadable")
    raise typer.Exit(1 if done.problems else 0)
