"""Review defects at the edges: non-UTF-8 prompts, bad question sets, weights that cover nothing, batch exit."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import write_video
from fingereval.cli import app
from fingereval.text import repair

runner = CliRunner()
QUESTIONS = [{"id": "q1", "dimension": "text_alignment", "entity": "square", "text": "Does a square appear?", "good_answer": "yes"},
             {"id": "q2", "dimension": "temporal_consistency", "text": "Is there flicker?", "good_answer": "no"}]
SMALL = ["--size", "56", "--max-frames", "4", "--device", "cpu"]


@pytest.fixture(scope="module")
def small_video(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("v") / "v.mp4", frames=8, size=56)


def _cli(*args: str | bytes, timeout: int = 300) -> subprocess.CompletedProcess:
    """The installed command in its own process: argv bytes reach it as a shell would pass them."""
    env = dict(os.environ, OMP_NUM_THREADS="1", LC_ALL="C.UTF-8", COLUMNS="400")
    return subprocess.run([sys.executable, "-m", "fingereval.cli", *args], capture_output=True, env=env, timeout=timeout)


def _one_line(text: str) -> str:
    lines = [x for x in text.strip().splitlines() if x.strip()]
    assert len(lines) == 1, text
    return lines[0]


# 1. prompts that are not UTF-8


def test_repair_reads_escaped_bytes_as_cp1252_and_keeps_valid_text():
    assert repair("caf\udce9 \udc93quoted\udc94 \u00e9t\u00e9") == ("café “quoted” été", True)
    assert repair("\udc81") == ("\x81", True)  # undefined in 1252: Latin-1
    assert repair("\ud83d lone") == ("\ufffd lone", True)
    assert repair("plain café") == ("plain café", False)


def test_latin1_prompt_in_argv_is_read_as_cp1252_with_one_warning(tiny_model_dir, small_video, tmp_path):
    done = _cli("questions", "--prompt", b"A caf\xe9 with a red awning")
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout)["prompt"] == "A café with a red awning"
    warning = _one_line(done.stderr.decode())
    assert warning.startswith("warning: --prompt is not valid UTF-8") and "A café with a red awning" in warning

    done = _cli("score", str(small_video), "--prompt", b"A red square slides past a caf\xe9", "--model", str(tiny_model_dir),
                "--json", *SMALL)
    assert done.returncode == 0, done.stderr.decode()
    result = json.loads(done.stdout)
    assert result["prompt"] == "A red square slides past a café" and result["overall"] is not None
    assert "Traceback" not in done.stderr.decode()


def test_latin1_bytes_in_a_manifest_line_and_a_questions_file(tiny_model_dir, small_video, tmp_path):
    qfile = tmp_path / "q.json"
    qfile.write_bytes(json.dumps({"prompt": "PROMPT", "questions": QUESTIONS}).replace("PROMPT", "caf\\u00e9")
                      .encode().replace(b"Is there flicker?", b"Does the caf\xe9 sign flicker?"))
    manifest = tmp_path / "m.jsonl"
    manifest.write_bytes(
        json.dumps({"id": "raw", "video": str(small_video), "prompt": "PROMPT", "questions": QUESTIONS})
        .encode().replace(b"PROMPT", b"A caf\xe9 at night") + b"\n"
        # what json.dumps writes for a surrogate-escaped argv string
        + json.dumps({"id": "escaped", "video": str(small_video), "prompt": "A caf\udce9 by day", "questions": str(qfile)})
        .encode() + b"\n")
    out = tmp_path / "r.jsonl"
    r = runner.invoke(app, ["score", "--manifest", str(manifest), "--out", str(out), "--model", str(tiny_model_dir), *SMALL])
    assert r.exit_code == 0, r.output
    recs = {x["id"]: x for x in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert recs["raw"]["prompt"] == "A café at night" and recs["escaped"]["prompt"] == "A café by day"
    assert "error" not in recs["escaped"]
    assert any(q["question"] == "Does the café sign flicker?" for q in recs["escaped"]["questions"])
    said = " ".join(r.stderr.split())
    assert f"manifest {manifest} line 1 is not valid UTF-8" in said and "line 2 is not valid UTF-8" in said
    assert f"questions file {qfile} is not valid UTF-8" in said


# 2. duplicate question ids, 3. an empty question set


def test_duplicate_question_ids_are_refused_naming_the_id_and_the_file(tiny_model_dir, small_video, tmp_path):
    q = tmp_path / "dup.json"
    q.write_text(json.dumps([QUESTIONS[0], dict(QUESTIONS[1], id="q1")]))
    r = runner.invoke(app, ["score", str(small_video), "--prompt", "x", "--questions", str(q), "--model", str(tiny_model_dir),
                            "--json", *SMALL])
    assert r.exit_code == 2, r.output
    line = " ".join(_one_line(r.stderr).split())
    assert f"questions file {q}" in line and "question id 'q1' is used by two questions" in line

    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"id": "item-7", "video": str(small_video), "prompt": "x",
                                    "questions": [QUESTIONS[0], dict(QUESTIONS[1], id="q1")]}) + "\n")
    out = tmp_path / "r.jsonl"
    r = runner.invoke(app, ["score", "--manifest", str(manifest), "--out", str(out), "--model", str(tiny_model_dir), *SMALL])
    assert r.exit_code == 1, r.output
    (rec,) = map(json.loads, out.read_text().splitlines())
    assert rec["error"]["type"] == "DataError"
    assert rec["error"]["message"].startswith("item item-7: questions:") and "'q1'" in rec["error"]["message"]


def test_an_empty_question_set_is_one_clear_line(tiny_model_dir, small_video, tmp_path):
    q = tmp_path / "empty.json"
    q.write_text("[]")
    for fmt in ([], ["--json"]):
        r = runner.invoke(app, ["score", str(small_video), "--prompt", "x", "--questions", str(q),
                                "--model", str(tiny_model_dir), *fmt, *SMALL])
        assert r.exit_code == 2, r.output
        line = " ".join(_one_line(r.stderr).split())
        assert f"questions file {q}" in line and "has no questions" in line and r.stdout == ""


# 4. the end of a batch


def test_a_batch_with_a_failed_item_ends_with_a_summary_and_exit_1(tiny_model_dir, small_video, tmp_path):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"id": "good", "video": str(small_video), "prompt": "A red square", "questions": QUESTIONS})
                        + "\n" + json.dumps({"id": "gone", "video": "nope.mp4", "prompt": "x", "questions": QUESTIONS}) + "\n")
    out = tmp_path / "r.jsonl"
    args = ["score", "--manifest", str(manifest), "--out", str(out), "--model", str(tiny_model_dir), *SMALL]
    r = runner.invoke(app, args)
    assert r.exit_code == 1, r.output
    recs = {x["id"]: x for x in map(json.loads, out.read_text().splitlines())}
    assert recs["good"]["overall"] is not None and "not found" in recs["gone"]["error"]["message"]
    said = " ".join(r.stderr.split())
    assert "scored 1, failed 1, already in the results 0" in said and f"results in {out}" in said
    assert "--retry-failed" in said

    r = runner.invoke(app, args)  # resumed: nothing new, but the failure is still in the results
    said = " ".join(r.stderr.split())
    assert r.exit_code == 1 and "scored 0, failed 0, already in the results 2 (1 of them failed)" in said
    write_video(tmp_path / "nope.mp4", frames=8, size=56)
    r = runner.invoke(app, [*args, "--retry-failed"])
    assert r.exit_code == 0 and "scored 1, failed 0, already in the results 1," in " ".join(r.stderr.split())
    assert len(out.read_text().splitlines()) == 2


# 5. weights that give nothing asked a weight


def test_weights_that_cover_no_dimension_asked_are_an_error(tiny_model_dir, small_video, tmp_path):
    w = tmp_path / "w.json"
    w.write_text(json.dumps({"weights": {"visual_quality": 1.0, "temporal_consistency": 0, "dynamic_degree": 0,
                                         "text_alignment": 0, "factual_consistency": 0}}))
    q = tmp_path / "q.json"
    q.write_text(json.dumps(QUESTIONS))
    r = runner.invoke(app, ["score", str(small_video), "--prompt", "x", "--questions", str(q), "--weights", str(w),
                            "--model", str(tiny_model_dir), "--json", *SMALL])
    assert r.exit_code == 2, r.output
    line = " ".join(_one_line(r.stderr).split())
    assert f"the weights in {w}" in line and "(temporal_consistency, text_alignment)" in line
