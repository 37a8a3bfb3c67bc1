"""`fingereval export`: results as CSV, Parquet or a Markdown table of means."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from fingereval.cli._common import err, fail, warn
from fingereval.errors import FingerEvalError


def export(
    results: list[Path] = typer.Argument(..., help="results JSONL files (from fingereval score --out)"),
    to: str = typer.Option(..., "--to", help="csv, parquet or md (a Markdown table of means per --group-by)"),
    out_path: Optional[Path] = typer.Option(None, "--out", "-o", help="write here (csv and md: else to stdout)"),
    questions: bool = typer.Option(False, "--questions", help="one row per question instead of one per video"),
    group_by: str = typer.Option("model", "--group-by", help="md: group by this field (model, results_file, or a "
                                 "manifest field such as the generator's name)"),
    manifest: Optional[Path] = typer.Option(None, help="join this manifest's fields (default: the one a folder run "
                                            "wrote beside each results file)"),
):
    """One row per video (overall, dimensions, lost questions) or per question, for pandas and spreadsheets."""
    from fingereval.export import FORMATS, means_markdown, rows, to_csv, to_parquet

    to = to.strip().lower()
    if to not in FORMATS:
        fail(ValueError(f"--to {to}: choose one of {', '.join(FORMATS)}"))
    if to == "parquet" and out_path is None:
        fail(ValueError("--to parquet writes a binary file: give --out results.parquet"))
    if to == "md" and questions:
        fail(ValueError("--to md is a table of means per video group; --questions goes with csv or parquet"))
    try:
        table = rows(results, questions=questions, manifest=manifest, on_warning=warn)
        if to == "parquet":
            to_parquet(table, out_path)
            text = None
        else:
            text = to_csv(table) if to == "csv" else means_markdown(table, group_by)
    except FingerEvalError as e:
        fail(e)
    if text is not None and out_path is None:
        typer.echo(text, nl=False)
        return
    if text is not None:
        out_path.write_text(text, encoding="utf-8")
    err.print(f"wrote {len(table)} rows to {out_path}", highlight=False, markup=False)
