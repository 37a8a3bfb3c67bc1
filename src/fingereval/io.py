"""JSON Lines in and out: the one place that reads, writes and appends them, and says which line is wrong.

Every JSONL file of the package (manifests, results, FingER-Instruct sets, probe sets, benchmark files)
goes through here, so a bad line reads the same everywhere:

    data/qa.jsonl line 3: not valid JSON (Expecting value at column 1); fix or remove the line
    data/qa.jsonl line 4: answer: expected yes or no, got 'maybe'

A file that cannot be opened says what it is ("manifest m.jsonl not found"). Blank lines are skipped.
`append_jsonl` flushes and fsyncs each line, so a finished batch result survives a kill of the next.

A records module: it imports nothing of the package but its errors, so every layer may use it.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, Literal, Union, overload

from pydantic import ValidationError

from fingereval.errors import DataError

Row = Union[Mapping[str, Any], str]  # a JSON object, or one already encoded as a line of JSON text


class LineError(DataError):
    """One bad line of a JSONL file: "FILE line N: reason"."""

    def __init__(self, path: str | Path, line: int, reason: str):
        self.path, self.line, self.reason = Path(path), line, reason
        super().__init__(f"{path} line {line}: {reason}")


def validation_message(error: ValidationError, limit: int = 3) -> str:
    """A pydantic error as one line: "field.path: message; ..." (a missing field: "missing field 'path'")."""
    parts = []
    for item in error.errors()[:limit]:
        where = ".".join(str(x) for x in item["loc"])
        if item["type"] == "missing":
            parts.append(f"missing field {where!r}")
        else:
            msg = item["msg"].removeprefix("Value error, ")
            parts.append(f"{where}: {msg}" if where else msg)
    more = error.error_count() - limit
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def read_text(path: str | Path, what: str = "file", hint: str | None = None,
              encoding_errors: str = "strict") -> str:
    """The file's text, or a DataError naming it as `what` (with `hint` added to "not found").

    `encoding_errors="surrogateescape"` keeps bytes that are not UTF-8 as lone surrogates, for
    `fingereval.text.repair` to read (the batch manifest does this).
    """
    p = Path(path)
    try:
        return p.read_bytes().decode("utf-8", encoding_errors)
    except FileNotFoundError:
        raise DataError(f"{what} {p} not found" + (f"; {hint}" if hint else "")) from None
    except IsADirectoryError:
        raise DataError(f"{what} {p} is a folder; give the .jsonl file inside it") from None
    except UnicodeDecodeError as e:
        raise DataError(f"{what} {p} is not UTF-8 text (byte {e.start}); it should be JSON Lines") from None
    except OSError as e:
        raise DataError(f"{what} {p} cannot be read: {e.strerror or e}") from None


def parse_jsonl(text: str, path: str | Path) -> Iterator[tuple[int, dict[str, Any] | LineError]]:
    """(line number, object) or (line number, LineError) for each non-blank line of `text`, in order."""
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            yield n, LineError(path, n, f"not valid JSON ({e.msg} at column {e.colno}); fix or remove the line")
            continue
        if not isinstance(row, dict):
            yield n, LineError(path, n, f"expected a JSON object per line, got {type(row).__name__}")
            continue
        yield n, row


def iter_jsonl(path: str | Path, what: str = "file", hint: str | None = None,
               encoding_errors: str = "strict") -> Iterator[tuple[int, dict[str, Any] | LineError]]:
    """`parse_jsonl` of a file (opening errors are raised as DataError at once)."""
    return parse_jsonl(read_text(path, what, hint, encoding_errors), path)


@overload
def read_jsonl(path: str | Path, what: str = ..., hint: str | None = ..., *,
               skip_bad: Literal[False] = False) -> list[tuple[int, dict[str, Any]]]: ...
@overload
def read_jsonl(path: str | Path, what: str = ..., hint: str | None = ..., *,
               skip_bad: Literal[True]) -> tuple[list[tuple[int, dict[str, Any]]], list[LineError]]: ...


def read_jsonl(path: str | Path, what: str = "file", hint: str | None = None, *, skip_bad: bool = False):
    """[(line number, object)] of a JSONL file; the first bad line raises LineError.

    With `skip_bad=True` bad lines are collected instead and `(rows, errors)` is returned.
    """
    rows: list[tuple[int, dict[str, Any]]] = []
    errors: list[LineError] = []
    for n, row in iter_jsonl(path, what, hint):
        if isinstance(row, LineError):
            if not skip_bad:
                raise row
            errors.append(row)
        else:
            rows.append((n, row))
    return (rows, errors) if skip_bad else rows


def _line(row: Row) -> str:
    if isinstance(row, str):
        if "\n" in row or "\r" in row:
            raise ValueError("an encoded JSONL row must be one line")
        return row + "\n"
    return json.dumps(row, ensure_ascii=False) + "\n"


def write_jsonl(path: str | Path, rows: Iterable[Row]) -> Path:
    """Write `rows` one a line (UTF-8, the file's folder made), replacing the file atomically."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.writelines(_line(row) for row in rows)
        os.replace(tmp, p)
    finally:
        tmp.unlink(missing_ok=True)
    return p


def append_jsonl(path: str | Path, row: Row) -> None:
    """Append one row, flushed and fsynced: it is on disk when this returns."""
    with open(path, "a", encoding="utf-8", newline="\n") as f:
        f.write(_line(row))
        f.flush()
        os.fsync(f.fileno())
