"""JSON Lines in and out: the one place that reads, writes and appends them, and says which line is wrong.

Every JSONL file of the package (manifests, results, FingER-Instruct sets, probe sets, benchmark files)
goes through here, so a bad line reads the same everywhere:

    data/qa.jsonl line 3: not valid JSON (Expecting value at column 1); fix or remove the line
    data/qa.jsonl line 4: answer: expected yes or no, got 'maybe'

A file that cannot be opened says what it is ("manifest m.jsonl not found"). Blank lines are skipped.
Records are split on "\n" only (`jsonl_lines`), never with `str.splitlines()`: that also splits on U+2028,
U+2029, U+0085 and other separators that `json.dumps(ensure_ascii=False)` (ours, pandas', jq's) leaves
unescaped inside strings, which would cut a record holding one in two.
`append_jsonl` flushes and fsyncs each line, so a finished batch result survives a kill of the next.

A records module: it imports nothing of the package but its errors, so every layer may use it.
"""
from __future__ import annotations

import json
import math
import os
import stat
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


def absolute_from(name: str, folder: Path) -> str:
    """A path a file gives relative to its own folder (or absolute), made absolute."""
    given = Path(name)
    return os.path.normpath((given if given.is_absolute() else folder / given).absolute())


def relative_to(name: str, folder: Path) -> str:
    """A path (absolute, or relative to the working folder) as a file in `folder` records it: relative to that
    folder, with / separators."""
    return Path(os.path.relpath(Path(name).absolute(), Path(folder).absolute())).as_posix()


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
        # a FIFO would block and /dev/zero never end: only a regular file is read
        if not p.is_dir() and p.exists() and not stat.S_ISREG(p.stat().st_mode):
            raise DataError(f"{what} {p} is not a regular file" + (f"; {hint}" if hint else ""))
        return p.read_bytes().decode("utf-8", encoding_errors)
    except FileNotFoundError:
        raise DataError(f"{what} {p} not found" + (f"; {hint}" if hint else "")) from None
    except IsADirectoryError:
        raise DataError(f"{what} {p} is a folder, not a file" + (f"; {hint}" if hint else "")) from None
    except UnicodeDecodeError as e:
        raise DataError(f"{what} {p} is not UTF-8 text (byte {e.start}); save it as UTF-8"
                        + (f"; {hint}" if hint else "")) from None
    except OSError as e:  # no permission, a device or FIFO that fails, a name too long
        raise DataError(f"{what} {p} cannot be read: {e.strerror or e}" + (f"; {hint}" if hint else "")) from None


def jsonl_lines(text: str) -> list[str]:
    """The lines of JSON Lines text, split on "\n" only (a CRLF's "\r" dropped); a final newline ends the last
    line rather than starting an empty one. Every JSONL reader of the package and the annotation app splits here."""
    lines = text.removeprefix("\ufeff").split("\n")  # a byte-order mark, as Windows tools write, is no record
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


class _Refused(ValueError):
    """A number that JSON allows to be written but no field of ours can mean."""


def _no_constant(name: str) -> float:
    raise _Refused(f"{name} is not a number JSON has")


def _finite(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise _Refused(f"the number {literal[:24]} is too large")
    return value


MAX_DEPTH = 64  # no file of ours nests beyond a few levels; a deeper one would overflow the recursive walks over it


def _nesting(value: Any) -> int:
    """How deeply lists and objects nest in `value`, walked without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, dict)):
            depth += 1
            deepest = max(deepest, depth)
            if depth <= MAX_DEPTH:
                stack.extend((x, depth) for x in (item.values() if isinstance(item, dict) else item))
    return deepest


# made once: json.loads(text, **options) would build a decoder on every call
_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite)


def parse_json(text: str) -> Any:
    """`json.loads`, with every way it fails as one ValueError ("not valid JSON (why)"), and no non-finite number.

    The standard library also raises RecursionError (deep nesting) and a ValueError of its own (an integer of
    more than 4300 digits), and reads NaN, Infinity and 1e999 as floats that no field of ours means. The depth is
    walked only where the text has more openers than MAX_DEPTH."""
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as e:
        where = f"line {e.lineno} column {e.colno}" if e.lineno > 1 else f"column {e.colno}"
        raise ValueError(f"not valid JSON ({e.msg} at {where})") from None
    except _Refused as e:
        raise ValueError(f"not valid JSON ({e})") from None
    except ValueError:  # the integer-length limit of int()
        raise ValueError("not valid JSON (a number has too many digits)") from None
    except RecursionError:
        raise ValueError(f"not valid JSON (nested deeper than {MAX_DEPTH} levels)") from None
    if text.count("[") + text.count("{") > MAX_DEPTH and _nesting(value) > MAX_DEPTH:  # fewer openers: shallow
        raise ValueError(f"not valid JSON (nested deeper than {MAX_DEPTH} levels)")
    return value


def read_json(path: str | Path, what: str = "file", hint: str | None = None, encoding_errors: str = "strict") -> Any:
    """The JSON value of a whole file (a questions, weights, calibration file), or one DataError naming the file
    as `what` and ending with `hint` (what to do): not found, a folder, not UTF-8, unreadable, empty, not JSON."""
    p = Path(path)
    text = read_text(p, what, hint, encoding_errors)
    end = f"; {hint}" if hint else ""
    if not text.strip():
        raise DataError(f"{what} {p} is empty{end}")
    try:
        return parse_json(text.removeprefix("\ufeff"))  # a byte-order mark, as Windows editors write
    except ValueError as e:
        raise DataError(f"{what} {p} is {e}{end}") from None


def parse_jsonl(text: str, path: str | Path) -> Iterator[tuple[int, dict[str, Any] | LineError]]:
    """(line number, object) or (line number, LineError) for each non-blank line of `text`, in order."""
    for n, line in enumerate(jsonl_lines(text), start=1):
        if not line.strip():
            continue
        try:
            row = parse_json(line)
        except ValueError as e:
            yield n, LineError(path, n, f"{e}; fix or remove the line")
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
