"""The JSON Lines spine (fingereval.io): line-numbered errors, blank lines, appends that survive, one validation line."""
from __future__ import annotations

import json

import pytest
from pydantic import BaseModel, ValidationError, field_validator

from fingereval.errors import DataError
from fingereval.io import (LineError, append_jsonl, jsonl_lines, parse_json, read_json, read_jsonl, read_text,
                           validation_message, write_jsonl)


def _file(path, *lines: str):
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def test_a_malformed_line_names_its_file_and_line_number(tmp_path):
    path = _file(tmp_path / "m.jsonl", '{"a": 1}', '{"a": 2}', '{"a": ')
    with pytest.raises(LineError) as info:
        read_jsonl(path, "manifest")
    assert str(info.value).startswith(f"{path} line 3: not valid JSON")
    assert (info.value.path, info.value.line) == (path, 3) and isinstance(info.value, DataError)


def test_a_line_that_is_not_an_object_is_an_error(tmp_path):
    path = _file(tmp_path / "m.jsonl", '{"a": 1}', "[1, 2]")
    with pytest.raises(DataError, match=r"line 2: expected a JSON object per line, got list"):
        read_jsonl(path)


def test_blank_lines_are_skipped_and_line_numbers_are_the_file_s(tmp_path):
    path = _file(tmp_path / "m.jsonl", '{"a": 1}', "", "   ", '{"a": 2}')
    assert read_jsonl(path) == [(1, {"a": 1}), (4, {"a": 2})]


def test_skip_bad_returns_the_good_rows_and_the_errors(tmp_path):
    path = _file(tmp_path / "m.jsonl", "not json", '{"a": 1}', "7", '{"a": 2}')
    rows, errors = read_jsonl(path, skip_bad=True)
    assert rows == [(2, {"a": 1}), (4, {"a": 2})]
    assert [(e.line, str(e).split(": ")[0]) for e in errors] == [(1, f"{path} line 1"), (3, f"{path} line 3")]


def test_file_errors_say_what_the_file_is(tmp_path):
    with pytest.raises(DataError, match=r"^manifest .*nope\.jsonl not found; write one$"):
        read_jsonl(tmp_path / "nope.jsonl", "manifest", hint="write one")
    with pytest.raises(DataError, match="is a folder"):
        read_jsonl(tmp_path, "results file")
    (tmp_path / "latin.jsonl").write_bytes(b'{"prompt": "caf\xe9"}\n')
    with pytest.raises(DataError, match="is not UTF-8 text"):
        read_jsonl(tmp_path / "latin.jsonl")
    assert read_text(tmp_path / "latin.jsonl", encoding_errors="surrogateescape") == '{"prompt": "caf\udce9"}\n'


SEPARATORS = "\u2028\u2029\u0085\x1c\x1d\x1e\x0b\x0c"  # line breaks to str.splitlines(), not to JSON Lines


def test_records_split_on_newline_only_and_keep_every_other_separator(tmp_path):
    rows = [{"id": f"r{i}", "text": f"a{sep}b"} for i, sep in enumerate(SEPARATORS[:3])]
    path = write_jsonl(tmp_path / "r.jsonl", rows)
    append_jsonl(path, {"id": "appended", "text": SEPARATORS[:3]})
    assert "\u2028" in path.read_text(encoding="utf-8")  # our writer leaves them raw
    assert [row for _, row in read_jsonl(path)] == rows + [{"id": "appended", "text": SEPARATORS[:3]}]
    # a byte-order mark goes, a CRLF's CR goes, a \f or \x1c splits nothing (a line of them is blank)
    text = "\ufeff" + '{"a": 1}' + "\r\n" + '{"b": "\u0085"}' + "\n" + SEPARATORS[3:] + "\n" + '{"c": 3}'
    assert jsonl_lines(text) == ['{"a": 1}', '{"b": "\u0085"}', SEPARATORS[3:], '{"c": 3}']
    assert [n for n, _ in read_jsonl(_file(tmp_path / "x.jsonl", *jsonl_lines(text)))] == [1, 2, 4]


@pytest.mark.parametrize(("text", "reason"), [
    ('{"a": NaN}', "NaN is not a number JSON has"),
    ('{"a": -Infinity}', "-Infinity is not a number JSON has"),
    ('{"a": 1e999}', "the number 1e999 is too large"),
    ('{"a": ' + "7" * 5000 + "}", "a number has too many digits"),
    ("[" * 65 + "]" * 65, "nested deeper than 64 levels"),
    ("[" * 100000, "nested deeper than 64 levels"),
    ('{"a": 1,\n "b": }', "Expecting value at line 2 column 7"),
])
def test_parse_json_refuses_what_no_field_of_ours_means_in_one_value_error(text, reason):
    with pytest.raises(ValueError) as info:
        parse_json(text)
    assert str(info.value) == f"not valid JSON ({reason})"


def test_read_json_names_the_file_and_what_to_do(tmp_path):
    (tmp_path / "ok.json").write_text("\ufeff" + '{"a": [1.5, "x"]}', encoding="utf-8")
    assert read_json(tmp_path / "ok.json") == {"a": [1.5, "x"]}
    (tmp_path / "empty.json").write_text(" \n")
    (tmp_path / "nan.json").write_text('{"t": NaN}')
    for name, says in [("empty.json", "is empty"), ("nan.json", "is not valid JSON (NaN"), ("nope.json", "not found"),
                       (".", "is a folder, not a file")]:
        with pytest.raises(DataError) as info:
            read_json(tmp_path / name, "weights file", "write one with `fit-weights`")
        assert str(info.value).startswith(f"weights file {tmp_path / name} {says}") and "\n" not in str(info.value)
        assert str(info.value).endswith("; write one with `fit-weights`")
    with pytest.raises(DataError, match=r"^weights file /dev/null is not a regular file"):
        read_json("/dev/null", "weights file")


def test_every_append_is_on_disk_when_it_returns(tmp_path):
    path = tmp_path / "r.jsonl"
    for i in range(3):
        append_jsonl(path, {"id": f"v{i}", "text": "ça va"})
        assert read_jsonl(path) == [(n + 1, {"id": f"v{n}", "text": "ça va"}) for n in range(i + 1)]
    append_jsonl(path, json.dumps({"id": "encoded"}))  # a row already encoded is written as it is
    assert read_jsonl(path)[-1] == (4, {"id": "encoded"})
    with pytest.raises(ValueError):
        append_jsonl(path, '{"a": 1}\n{"b": 2}')
    assert len(read_jsonl(path)) == 4


def test_write_replaces_the_file_and_makes_its_folder(tmp_path):
    path = tmp_path / "new" / "rows.jsonl"
    write_jsonl(path, [{"a": 1}, {"b": "é"}])
    write_jsonl(path, [{"c": 3}])
    assert path.read_text(encoding="utf-8") == '{"c": 3}\n'
    assert [p.name for p in path.parent.iterdir()] == ["rows.jsonl"]  # no temporary file left behind


def test_a_failing_write_leaves_the_old_file(tmp_path):
    path = write_jsonl(tmp_path / "rows.jsonl", [{"a": 1}])

    def rows():
        yield {"b": 2}
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        write_jsonl(path, rows())
    assert read_jsonl(path) == [(1, {"a": 1})] and len(list(tmp_path.iterdir())) == 1


class _Item(BaseModel):
    prompt: str
    answer: str
    tags: list[int] = []

    @field_validator("answer")
    @classmethod
    def _yes_no(cls, value: str) -> str:
        if value not in ("yes", "no"):
            raise ValueError(f"expected yes or no, got {value!r}")
        return value


def _error(**raw) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        _Item.model_validate(raw)
    return info.value


def test_the_validation_message_names_the_field():
    assert validation_message(_error(answer="yes")) == "missing field 'prompt'"
    assert validation_message(_error(prompt="p", answer="maybe")) == "answer: expected yes or no, got 'maybe'"
    message = validation_message(_error(prompt="p", answer="yes", tags=[1, "x"]))
    assert message.startswith("tags.1: ") and "\n" not in message


def test_the_validation_message_is_one_line_with_a_count_of_the_rest():
    message = validation_message(_error(tags=["a", "b", "c", "d"]))
    assert "\n" not in message and message.endswith("(and 3 more)")  # 6 errors, 3 shown
    assert validation_message(_error(tags=["a", "b"]), limit=1).endswith("(and 3 more)")
