"""`fingereval data ...`: check, split and complete FingER-Instruct question/answer/reason data."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from fingereval.data.instruct import group_by_video, load_instruct, split_by_video, write_instruct
from fingereval.cli._common import RUBRIC_HELP, fail
from fingereval.errors import DataError, FingerEvalError

data_app = typer.Typer(no_args_is_help=True)


Rubric = Annotated[Optional[str], typer.Option("--rubric", help=RUBRIC_HELP + ": the dimensions the data may use")]


def _rubric(rubric: str | None):
    from fingereval.rubric import load_rubric

    return load_rubric(rubric) if rubric else None


@data_app.command()
def check(data: Annotated[Path, typer.Argument(help="FingER-Instruct JSONL")], rubric: Rubric = None):
    """Validate a file: report every bad line with its number (a dimension the rubric lacks too), and the answer
    balance per dimension."""
    try:
        records, errors = load_instruct(data, skip_bad=True, rubric=_rubric(rubric))
    except FingerEvalError as e:  # the file itself cannot be read
        fail(e)
    if not records and not errors:
        fail(DataError(f"instruct file {data} holds no records; give a FingER-Instruct JSONL file, one question a line"))
    for e in errors:
        typer.echo(str(e), err=True)
    by_dim: dict[str, list[int]] = {}
    for r in records:
        by_dim.setdefault(r.dimension, []).append(r.answer == "yes")
    typer.echo(f"{len(records)} records, {len(group_by_video(records))} videos, {len(errors)} bad lines")
    for dim, v in sorted(by_dim.items()):
        typer.echo(f"  {dim:22s} {len(v):5d} questions, {sum(v) / len(v):.0%} true answers yes")
    raise typer.Exit(1 if errors else 0)


@data_app.command()
def split(data: Annotated[Path, typer.Argument()], out_dir: Annotated[Path, typer.Argument()],
          held_out: float = 0.2, seed: int = 0, rubric: Rubric = None):
    """Split by video (no video in two splits) into OUT_DIR/train.jsonl and OUT_DIR/test.jsonl."""
    try:
        train, test = split_by_video(load_instruct(data, rubric=_rubric(rubric)), held_out=held_out, seed=seed)
    except FingerEvalError as e:
        fail(e)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_instruct(out_dir / "train.jsonl", train)
    write_instruct(out_dir / "test.jsonl", test)
    typer.echo(f"train {len(train)} records, test {len(test)} records -> {out_dir}")


@data_app.command()
def reasons(data: Annotated[Path, typer.Option("--data", help="records with human answers")],
            model: Annotated[str, typer.Option("--model", "-m", help="hub id or checkpoint folder of an MLLM")],
            out: Annotated[Path, typer.Option("--out", "-o", help="records with a reason written for each")],
            size: int = 448, fps: float = 2.0, max_frames: int = 32, max_new_tokens: int = 96,
            overwrite: Annotated[bool, typer.Option(help="replace reasons already present")] = False,
            device: str | None = None, rubric: Rubric = None):
    """Write a reason for each record *given* its human answer (the paper's data step 4)."""
    from rich.progress import Progress

    from fingereval.answer import get_answerer
    from fingereval.data.instruct import instruct_questions
    from fingereval.video import VideoConfig, load_video

    try:
        records = load_instruct(data, rubric=_rubric(rubric))
        ans = get_answerer("transformers", model=model, device=device, max_new_tokens=max_new_tokens,
                           video_config=VideoConfig(fps=fps, max_frames=max_frames, size=size))
    except FingerEvalError as e:
        fail(e)
    done, failed = [], 0
    groups = group_by_video(records)
    with Progress() as bar:
        task = bar.add_task("writing reasons", total=len(groups))
        for video, recs in groups.items():
            todo = [r for r in recs if overwrite or not r.reason]
            try:
                if todo:
                    texts = ans.explain(load_video(video, ans.video_config), instruct_questions(todo), [r.answer for r in todo])
                    for r, t in zip(todo, texts):
                        r.reason = t
            except FingerEvalError as e:
                failed += 1
                typer.echo(f"{video}: {e}; its records keep no reason", err=True)
            done += recs
            bar.advance(task)
    write_instruct(out, done)
    typer.echo(f"wrote {len(done)} records ({failed} videos failed) -> {out}")
