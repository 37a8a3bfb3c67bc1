"""Text from outside (command-line options, manifest lines, questions files) made into valid Unicode.

Python keeps bytes that are not UTF-8 as lone surrogates U+DC80..U+DCFF ("surrogateescape": `--prompt
$'caf\\xe9'` in a UTF-8 shell arrives as 'caf\\udce9'), and `json.dumps` writes them as "\\udce9" escapes.
Neither can be written out as UTF-8 JSON, so every result would fail at the end. The policy: such a byte
is read as Windows-1252 (Latin-1 plus the curly quotes and dashes that Windows keyboards type; a byte that
1252 leaves undefined is read as Latin-1), any other lone surrogate becomes U+FFFD, and the caller warns
in one line that shows the text as read, so a wrong guess is visible.
"""
from __future__ import annotations

import sys
from typing import Any, Callable

REPLACEMENT = "\ufffd"


def _byte_char(code: int) -> str:
    b = code - 0xDC00
    try:
        return bytes([b]).decode("cp1252")
    except UnicodeDecodeError:  # 0x81, 0x8d, 0x8f, 0x90, 0x9d
        return chr(b)


def repair(text: str) -> tuple[str, bool]:
    """(valid text, whether anything was changed)."""
    if not any("\ud800" <= c <= "\udfff" for c in text):
        return text, False
    out = []
    for c in text:
        code = ord(c)
        if 0xDC80 <= code <= 0xDCFF:
            out.append(_byte_char(code))
        elif 0xD800 <= code <= 0xDFFF:
            out.append(REPLACEMENT)
        else:
            out.append(c)
    return "".join(out), True


def repair_json(value: Any) -> tuple[Any, list[str]]:
    """`repair` applied to every string (keys too) in parsed JSON: (value, the strings it changed, repaired)."""
    changed: list[str] = []

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            fixed, was = repair(v)
            if was:
                changed.append(fixed)
            return fixed
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, dict):
            return {walk(k): walk(x) for k, x in v.items()}
        return v

    return walk(value), changed


def decode_bytes(data: bytes) -> str:
    """File bytes as text; bytes that are not UTF-8 stay as surrogates for `repair` to read."""
    return data.decode("utf-8", "surrogateescape")


def warn_stderr(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def not_utf8_message(where: str, shown: str) -> str:
    return (f"{where} is not valid UTF-8; read it as Windows-1252: {shown!r} "
            f"(pass UTF-8 text to silence this)")


def clean_text(text: str, where: str, warn: Callable[[str], None] | None = None) -> str:
    """`text` repaired by the policy above, with one warning line naming `where` when it had to be."""
    fixed, changed = repair(text)
    if changed:
        (warn or warn_stderr)(not_utf8_message(where, fixed))
    return fixed
