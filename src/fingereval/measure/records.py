"""Reading benchmark files that come either as one JSON list or as JSON Lines, keeping each record's
location ("line 12" / "item 12") so that errors can point at it."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fingereval.errors import DataError


def read_json_records(path: str | Path, what: str) -> list[tuple[str, dict[str, Any]]]:
    """Records of a JSON list file or a JSONL file, each with where it came from.

    `what` names the file in messages ("pairs file", "ratings file").
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{what} {p} not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise DataError(f"{what} {p} cannot be read: {e}") from None
    if text.lstrip().startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as e:
            raise DataError(f"{what} {p} is not valid JSON ({e.msg} at line {e.lineno})") from None
        records = [(f"item {i}", item) for i, item in enumerate(items)]
    else:
        records = []
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append((f"line {lineno}", json.loads(line)))
            except json.JSONDecodeError as e:
                raise DataError(f"{what} {p}, line {lineno}: not valid JSON ({e.msg})") from None
    for where, record in records:
        if not isinstance(record, dict):
            raise DataError(f"{what} {p}, {where}: expected a JSON object, got {type(record).__name__}")
    if not records:
        raise DataError(f"{what} {p} holds no records")
    return records


def require_fields(record: dict[str, Any], fields: tuple[str, ...], where: str) -> None:
    missing = [f for f in fields if record.get(f) in (None, "")]
    if missing:
        raise DataError(f"{where}: missing field(s) {', '.join(repr(f) for f in missing)}")
