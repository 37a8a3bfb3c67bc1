"""JSON Lines hold U+2028, U+2029 and U+0085 inside strings unescaped (json.dumps(ensure_ascii=False) writes them
so, as do pandas and jq); str.splitlines() splits on them. Prompts, questions and reasons holding them go
through `fingereval score` on a folder, a resume, --retry-failed, the report and the exports, and every text
comes out exactly as it went in (issue 26 item 7)."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import time_limit, write_video
from fingereval.cli import app
from fingereval.data.instruct import InstructRecord, load_instruct, write_instruct
from fingereval.measure.results import load_results
from planted import reason_for

SEPARATORS = "\u2028\u2029\u0085"  # each one a line break to str.splitlines(), none to JSON
runner = CliRunner()


def _records(path: Path) -> list[dict]:
    """The results file's records, split as JSON Lines are (on \\n only): computed apart from the code under test."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").split("\n") if line]


@pytest.fixture()
def folder(tmp_path: Path) -> dict:
    """A folder of two videos and a broken one; prompts, questions and a generator column full of separators."""
    videos = tmp_path / "videos"
    write_video(videos / "a.mp4", frames=8, size=56)
    write_video(videos / "b.mp4", frames=8, size=56, colour=(30, 30, 220))
    (videos / "broken.mp4").write_text("not a video yet")
    question = {"id": "q1", "dimension": "text_alignment", "entity": "square",
                "text": f"Is the square{SEPARATORS[0]}red{SEPARATORS[1]}and{SEPARATORS[2]}sliding?", "good_answer": "yes"}
    questions_file = tmp_path / "b-questions.json"
    file_question = dict(question, id="q2", text=f"Does{SEPARATORS}a blue square appear?")
    questions_file.write_text(json.dumps({"prompt": "x", "questions": [file_question]}, ensure_ascii=False),
                              encoding="utf-8")
    prompts = {"a.mp4": f"A red square{SEPARATORS[0]}slides{SEPARATORS[1]}right{SEPARATORS[2]}fast",
               "b.mp4": f"A blue square{SEPARATORS} rests", "broken.mp4": f"A broken{SEPARATORS}file"}
    rows = [{"video": "a.mp4", "prompt": prompts["a.mp4"], "questions": [question], "generator": f"gen{SEPARATORS}1"},
            {"video": "b.mp4", "prompt": prompts["b.mp4"], "questions": str(questions_file), "generator": "gen-2"},
            {"video": "broken.mp4", "prompt": prompts["broken.mp4"], "questions": [question], "generator": "gen-2"}]
    prompts_file = tmp_path / "prompts.jsonl"
    prompts_file.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    assert SEPARATORS[0] in prompts_file.read_text(encoding="utf-8")  # written raw, as our own writer does
    return {"root": tmp_path, "videos": videos, "prompts": prompts, "prompts_file": prompts_file,
            "texts": {"a.mp4": [question["text"]], "b.mp4": [file_question["text"]]}}


def _score(folder: dict, model: Path, out: Path, *more: str):
    args = ["score", str(folder["videos"]), "--prompts", str(folder["prompts_file"]), "--answerer", "planted:Reasoned",
            "--model", str(model), "--size", "56", "--max-frames", "4", "--out", str(out), *more]
    with time_limit(300, "scoring three tiny videos"):
        return runner.invoke(app, args)


def test_separators_survive_score_resume_retry_report_and_export(folder, tiny_model_dir):
    out = folder["root"] / "results.jsonl"
    first = _score(folder, tiny_model_dir, out)
    assert first.exit_code == 1, first.output  # the broken video failed; the other two are scored
    records = {r["id"]: r for r in _records(out)}
    assert sorted(records) == ["a.mp4", "b.mp4", "broken.mp4"]
    assert "error" in records["broken.mp4"] and records["broken.mp4"]["prompt"] == folder["prompts"]["broken.mp4"]
    for name in ("a.mp4", "b.mp4"):
        assert records[name]["prompt"] == folder["prompts"][name]
        assert [q["question"] for q in records[name]["questions"]] == folder["texts"][name]
        assert [q["reason"] for q in records[name]["questions"]] == [reason_for(t) for t in folder["texts"][name]]
    written = out.read_bytes()
    assert "\u2028".encode() in written  # the separators are in the file raw, not escaped: the case under test

    again = _score(folder, tiny_model_dir, out)  # a resume: everything is there, nothing is scored or appended
    said = " ".join(again.output.split())  # rich wraps long lines
    assert again.exit_code == 1 and "scored 0, failed 0, already in the results 3 (1 of them failed)" in said
    assert out.read_bytes() == written

    write_video(folder["videos"] / "broken.mp4", frames=8, size=56, moving=False)  # mended
    retried = _score(folder, tiny_model_dir, out, "--retry-failed")
    assert retried.exit_code == 0, retried.output
    assert "scored 1, failed 0, already in the results 2" in " ".join(retried.output.split())
    lines = out.read_text(encoding="utf-8").split("\n")
    kept = [line for line in written.decode("utf-8").split("\n") if line and "error" not in json.loads(line)]
    assert lines[:2] == kept  # the two good records kept byte for byte, not deleted as "not JSON"
    records = {r["id"]: r for r in _records(out)}
    assert len(_records(out)) == 3 and "error" not in records["broken.mp4"]
    assert records["broken.mp4"]["prompt"] == folder["prompts"]["broken.mp4"]
    assert len(load_results(out)) == 3  # the benchmark loader sees every video

    report = runner.invoke(app, ["report", str(out), "--frames", "0", "--out", str(folder["root"] / "r.html")])
    assert report.exit_code == 0 and "(3 videos" in " ".join(report.output.split()), report.output

    table = runner.invoke(app, ["export", str(out), "--to", "csv"])
    assert table.exit_code == 0, table.output
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(table.stdout, newline=""))}
    assert {k: rows[k]["prompt"] for k in rows} == folder["prompts"]
    assert rows["a.mp4"]["generator"] == f"gen{SEPARATORS}1"  # joined from the manifest written beside the results
    per_question = runner.invoke(app, ["export", str(out), "--to", "csv", "--questions"])
    questions = list(csv.DictReader(io.StringIO(per_question.stdout, newline="")))
    assert {(q["id"], q["question"], q["reason"]) for q in questions if q["id"] != "broken.mp4"} == {
        (name, text, reason_for(text)) for name, texts in folder["texts"].items() for text in texts}
    means = runner.invoke(app, ["export", str(out), "--to", "md", "--group-by", "generator"])
    assert means.exit_code == 0, means.output
    assert f"| gen{SEPARATORS}1 | 1 | 0 |" in means.stdout


def test_instruct_records_with_separators_read_back_as_written(tmp_path):
    records = [InstructRecord(video=str(tmp_path / "v.mp4"), prompt=f"a{SEPARATORS}b", dimension="visual_quality",
                              question=f"Is it{SEPARATORS[1]}sharp?", good_answer="yes", answer="no",
                              reason=f"blurred{SEPARATORS[2]}edges", id=f"q{i}") for i in range(3)]
    path = write_instruct(tmp_path / "qa.jsonl", records)
    assert SEPARATORS[0] in path.read_text(encoding="utf-8")
    assert load_instruct(path) == records
    checked = runner.invoke(app, ["data", "check", str(path)])
    assert checked.exit_code == 0 and "3 records, 1 videos, 0 bad lines" in checked.output
