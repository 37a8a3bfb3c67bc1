"""Results as tables for pandas, spreadsheets, notebooks and papers: CSV, Parquet, a Markdown table of means.

One row per video (overall, dimensions, how many questions lost points, per dimension too) or, with
`questions=True`, one row per question. Fields of the manifest a folder run wrote beside its results (a
generator's name, a seed: any column of the prompts file) join each row, so that tables group by them.
"""
from __future__ import annotations

import csv
import io
import math
import statistics
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from fingereval.errors import DataError
from fingereval.folders import manifest_beside
from fingereval.io import LineError, iter_jsonl
from fingereval.measure.results import dimension_columns, read_results
from fingereval.rubric import Rubric
from fingereval.schema import VideoResult

LOST_BELOW = 0.5  # a question lost points when its score is under one half: the answer went the wrong way
MANIFEST_KEYS = {"video", "prompt", "id", "questions"}
FORMATS = ("csv", "parquet", "md")


def manifest_fields(path: Path | None, on_warning: Callable[[str], None], *, given: bool = False) -> dict[str, dict]:
    """id -> the manifest's extra fields (anything but video, prompt, id, questions).

    The manifest a folder run wrote beside its results is joined when it is there; one the user `given` must
    be there and name at least one video, or a DataError says so."""
    if path is None:
        return {}
    if not given:
        try:
            if not path.is_file():
                return {}
        except OSError:  # a name too long, a loop of links: no manifest beside these results
            return {}
    fields, problems = {}, []
    for n, row in iter_jsonl(path, "manifest", hint="give the manifest the scoring run read, or leave --manifest out"):
        if isinstance(row, LineError):
            problems.append(row)
            continue
        key = row.get("id") or row.get("video")
        if not isinstance(key, str):
            problems.append(LineError(path, n, "names no video (`id` or `video`, a string)"))
            continue
        fields[key] = {k: v for k, v in row.items() if k not in MANIFEST_KEYS}
    if given and not fields:  # one line that says why, rather than a warning per line
        first = f" (first: line {problems[0].line}: {problems[0].reason})" if problems else ""
        raise DataError(f"manifest {path}: no line names a video (`id` or `video`), so there is nothing to join{first}; "
                        "give the manifest the scoring run read, or leave --manifest out")
    for problem in problems:
        on_warning(f"{problem}; its fields are not joined")
    return fields


def _lost(questions) -> int:
    return sum(q.score < LOST_BELOW for q in questions)


def _image(r: VideoResult) -> str | None:
    """An image-to-video result's conditioning image, as the result records it (as its video: relative to the
    results file's folder, or absolute); None for text-to-video."""
    return None if r.image is None else r.image.path


def video_row(r: VideoResult, extra: dict, keys: Sequence[str]) -> dict:
    """The video's row: a column per dimension in `keys` (the rubric's), and the rubric it was scored with."""
    row = {"id": r.id or r.video, "video": r.video, "image": _image(r), "prompt": r.prompt, "model": r.model,
           "mode": r.mode,
           "overall": r.overall, **{k: r.dimensions.get(k) for k in keys},
           "questions": len(r.questions), "lost": _lost(r.questions)}
    row |= {f"lost_{k}": _lost([q for q in r.questions if q.dimension == k]) for k in keys}
    row |= {"truncated": r.video_truncated, "unreadable_answers": r.answers_unreadable,
            "rubric": r.rubric.name if r.rubric else None, "rubric_sha256": r.rubric.sha256 if r.rubric else None,
            "error": None if r.error is None else f"{r.error.type}: {r.error.message}"}
    return row | {k: v for k, v in extra.items() if k not in row}


def question_rows(r: VideoResult, extra: dict) -> list[dict]:
    head = {"id": r.id or r.video, "video": r.video, "image": _image(r), "model": r.model, "mode": r.mode}
    return [head | {"question_id": q.id, "dimension": q.dimension, "entity": q.entity, "question": q.question,
                    "good_answer": q.good_answer, "answer": q.answer, "p_yes": q.p_yes, "score": q.score,
                    "lost": q.score < LOST_BELOW, "reason": q.reason, "forced_answer": q.forced_answer}
            | {k: v for k, v in extra.items() if k not in head} for q in r.questions]


def rows(results_files: Sequence[Path], *, questions: bool = False, manifest: Path | None = None,
         on_warning: Callable[[str], None] = print, rubric: Rubric | None = None) -> list[dict]:
    """The rows of every results file; each joins its own folder manifest (or `manifest`) by id."""
    return table(results_files, questions=questions, manifest=manifest, on_warning=on_warning, rubric=rubric)[0]


def table(results_files: Sequence[Path], *, questions: bool = False, manifest: Path | None = None,
          on_warning: Callable[[str], None] = print, rubric: Rubric | None = None
          ) -> tuple[list[dict], list[tuple[str, str]]]:
    """(the rows, the (key, name) of their dimension columns): the rubric's dimensions, or those the results hold
    (fingereval.measure.results.dimension_columns)."""
    given = manifest_fields(manifest, on_warning, given=True) if manifest is not None else None
    read = []
    for path in results_files:
        results = read_results(path, on_warning, "left out of the export")
        if not results:
            raise DataError(f"results file {path} holds no result; write one with `fingereval score ... --out FILE`")
        read.append((path, results))
    dimensions = dimension_columns((r for _, rs in read for r in rs), rubric, ", ".join(str(p) for p, _ in read))
    keys = [k for k, _ in dimensions]
    out: list[dict] = []
    for path, results in read:
        extra = given if given is not None else manifest_fields(manifest_beside(path), on_warning)
        for r in results:
            fields = {"results_file": str(path), **extra.get(r.id or r.video, {})}
            out += question_rows(r, fields) if questions else [video_row(r, fields, keys)]
    return out, dimensions


def to_csv(table: Iterable[dict]) -> str:
    table = list(table)
    columns = list(dict.fromkeys(k for row in table for k in row))  # every key, in first-seen order
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(table)
    return buffer.getvalue()


def to_parquet(table: Sequence[dict], path: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = list(dict.fromkeys(k for row in table for k in row))
    pq.write_table(pa.Table.from_pylist([{c: row.get(c) for c in columns} for row in table]), path)
    return path


def _mean(values: list[float]) -> str:
    if not values:
        return "–"
    if len(values) < 2:
        return f"{values[0]:.3f}"
    half = 1.96 * statistics.stdev(values) / math.sqrt(len(values))  # a normal 95% interval of the mean
    return f"{statistics.fmean(values):.3f} ± {half:.3f}"


def _md_cell(text: str) -> str:
    """A group's name as one Markdown table cell: a `|` would end the cell and a line break the row."""
    return text.replace("|", "\\|").replace("\r\n", "<br>").replace("\n", "<br>").replace("\r", "<br>")


def means_markdown(table: Sequence[dict], group_by: str = "model",
                   dimensions: Sequence[tuple[str, str]] | None = None) -> str:
    """A Markdown table of mean scores per group (± a 95% interval), for a README or a paper; a column per
    dimension (key, name): those of the rows (`dimension_columns`), FingER's five by default."""
    if table and all(group_by not in row for row in table):
        known = ", ".join(k for k in table[0] if k not in {"prompt", "video", "id", "error"})
        raise DataError(f"--group-by {group_by}: no such field in the results or their manifest (fields: {known})")
    groups: dict[str, list[dict]] = {}
    for row in table:
        groups.setdefault(str(row.get(group_by)), []).append(row)
    dimensions = list(dimensions if dimensions is not None else dimension_columns([]))
    targets = ["overall", *(k for k, _ in dimensions)]
    head = [group_by, "videos", "failed", "overall", *(name for _, name in dimensions), "lost questions"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, members in sorted(groups.items()):
        scored = [r for r in members if r.get("error") is None]
        cells = [_md_cell(name), str(len(scored)), str(len(members) - len(scored))]
        cells += [_mean([r[t] for r in scored if r.get(t) is not None]) for t in targets]
        cells.append(f"{sum(r['lost'] for r in scored)} / {sum(r['questions'] for r in scored)}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
