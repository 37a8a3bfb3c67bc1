"""Reading benchmark files that come either as one JSON list or as JSON Lines, keeping each record's
location ("line 12" / "item 12") so that errors can point at it."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from fingereval.errors import DataError
from fingereval.io import LineError, parse_json, parse_jsonl, read_text


def read_json_records(path: str | Path, what: str) -> list[tuple[str, dict[str, Any]]]:
    """Records of a JSON list file or a JSONL file, each with where it came from.

    `what` names the file in messages ("pairs file", "ratings file").
    """
    p = Path(path)
    text = read_text(p, what)
    if text.lstrip().startswith("["):
        try:
            items = parse_json(text)
        except ValueError as e:
            raise DataError(f"{what} {p} is {e}") from None
        records = [(f"item {i}", item) for i, item in enumerate(items)]
        for where, record in records:
            if not isinstance(record, dict):
                raise DataError(f"{p} {where}: expected a JSON object, got {type(record).__name__}")
    else:
        records = []
        for lineno, record in parse_jsonl(text, p):
            if isinstance(record, LineError):
                raise record
            records.append((f"line {lineno}", record))
    if not records:
        raise DataError(f"{what} {p} holds no records")
    return records


def require_fields(record: dict[str, Any], fields: tuple[str, ...], where: str) -> None:
    missing = [f for f in fields if record.get(f) in (None, "")]
    if missing:
        raise DataError(f"{where}: missing field(s) {', '.join(repr(f) for f in missing)}")
