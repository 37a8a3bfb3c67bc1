"""A folder of videos and their prompts as a manifest: how most people hold generated videos.

Prompts come from a file (CSV with columns `video` and `prompt`, or JSONL with those keys as in a manifest,
`video` being the file's path inside the folder) or from the file names (the VBench convention: the file is
named after its prompt, `A cat plays the piano-0.mp4`). An `image` column names an image-to-video clip's
conditioning image, a path inside the folder as `video` is (an empty cell: none). Other columns (a generator's
name, a seed) are kept in the manifest lines, so that `fingereval export --group-by` can group by them.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path

from fingereval.errors import DataError
from fingereval.io import LineError, parse_jsonl, read_text, write_jsonl

VIDEO_SUFFIXES = {".mp4", ".webm", ".mov", ".avi", ".mkv", ".gif", ".m4v"}
_INDEX_SUFFIX = re.compile(r"-\d+$")  # VBench's sample index after the prompt


def manifest_beside(results: Path) -> Path:
    """Where the manifest of a folder run is written: next to its results, so the same command resumes."""
    return results.with_name(results.stem + ".manifest.jsonl")


def videos_in(folder: Path) -> list[str]:
    """Video files under `folder` (subfolders included), as sorted POSIX paths relative to it."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*")
                  if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)


def prompt_from_name(name: str) -> str:
    """VBench names a file `<prompt>-<index>.mp4`; names without spaces often use underscores for them."""
    stem = _INDEX_SUFFIX.sub("", Path(name).stem)
    return stem.replace("_", " ").strip() if " " not in stem else stem.strip()


PROMPTS_HINT = "give a CSV with columns video,prompt or JSONL lines {\"video\": FILE, \"prompt\": TEXT}"


def _usable(path: Path, n: int, row: dict) -> dict | LineError:
    if all(isinstance(row.get(k), str) and row[k].strip() for k in ("video", "prompt")):
        return row
    return LineError(path, n, "needs a `video` (file name in the folder) and a `prompt`")


def _csv_rows(path: Path, text: str) -> list[tuple[int, dict | LineError]]:
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""),  # spreadsheets write a BOM
                            dialect=csv.excel_tab if path.suffix.lower() == ".tsv" else csv.excel)
    try:
        missing = {"video", "prompt"} - set(reader.fieldnames or [])
        if missing:
            raise DataError(f"prompts file {path}: no column {', '.join(sorted(missing))}; its first line "
                            "must name the columns, e.g. `video,prompt`")
        return [(reader.line_num, _usable(path, reader.line_num, row)) for row in reader]
    except csv.Error as e:  # a field over the csv module's size limit: the row being read starts on the next line
        raise DataError(f"prompts file {path} line {reader.line_num + 1}: {e}; {PROMPTS_HINT}") from None


def read_prompts(path: Path) -> list[tuple[int, dict | LineError]]:
    """(line number, row) for each row of a CSV/TSV or JSONL prompts file; a bad line comes as a LineError."""
    text = read_text(path, "prompts file", PROMPTS_HINT)
    if path.suffix.lower() in {".csv", ".tsv"}:
        return _csv_rows(path, text)
    return [(n, row if isinstance(row, LineError) else _usable(path, n, row)) for n, row in parse_jsonl(text, path)]


def folder_manifest(folder: Path, prompts: Path | None = None, from_names: bool = False,
                    on_warning: Callable[[str], None] = print) -> list[dict]:
    """Manifest lines ({id, video, prompt, ...extra columns}) for the videos of `folder` that have a prompt."""
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder of videos")
    found = videos_in(folder)
    if not found:
        raise DataError(f"{folder}: no video files ({', '.join(sorted(VIDEO_SUFFIXES))}) in it or below it")
    if (prompts is None) == (not from_names):
        raise DataError("for a folder, give --prompts FILE (CSV video,prompt or JSONL) or --prompts-from-names")
    if from_names:
        return [{"id": name, "video": str((folder / name).resolve()), "prompt": prompt_from_name(name)} for name in found]
    by_name: dict[str, dict] = {}
    present = set(found)
    rows = read_prompts(prompts)
    bad = [row for _, row in rows if isinstance(row, LineError)]
    if len(bad) == len(rows):  # nothing to score: one line that says why, rather than a warning per line
        first = f" (first: line {bad[0].line}: {bad[0].reason})" if bad else ""
        raise DataError(f"prompts file {prompts}: no usable line{first}; {PROMPTS_HINT}")
    for n, row in rows:
        if isinstance(row, LineError):
            on_warning(str(row))
            continue
        name = Path(row["video"].strip()).as_posix()
        if name not in present:
            on_warning(f"prompts file {prompts} line {n}: no video {name!r} in {folder}; the line is left out")
            continue
        extra = {k: v for k, v in row.items() if k not in {"video", "prompt", "id"} and k and v not in (None, "")}
        if isinstance(extra.get("image"), str) and extra["image"].strip():  # a file beside the videos, as `video`
            extra["image"] = str((folder / extra["image"].strip()).resolve())
        by_name[name] = {"id": name, "video": str((folder / name).resolve()), "prompt": row["prompt"].strip(), **extra}
    unprompted = [name for name in found if name not in by_name]
    if unprompted:
        on_warning(f"{len(unprompted)} video(s) in {folder} have no prompt in {prompts} and are left out "
                   f"(first: {unprompted[0]})")
    if not by_name:
        raise DataError(f"no video in {folder} has a prompt in {prompts}; its `video` column must hold the file "
                        "names inside the folder (e.g. clip_001.mp4)")
    return [by_name[name] for name in found if name in by_name]


def write_folder_manifest(folder: Path, results: Path, prompts: Path | None = None, from_names: bool = False,
                          on_warning: Callable[[str], None] = print) -> Path:
    """The folder's manifest, written beside the results (rewritten the same on a rerun, so the run resumes)."""
    return write_jsonl(manifest_beside(results), folder_manifest(folder, prompts, from_names, on_warning))
