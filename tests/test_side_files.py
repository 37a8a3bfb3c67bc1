"""Every side file a command reads (the report's --calibration-report, --weights, --calibration, questions files,
manifests, prompts files, FingER-Instruct data, export's --manifest), malformed every way a file can be: through
the real CLI, one line on stderr that names the file, a non-zero exit, never a traceback (issue 26 item 8)."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import write_video
from fingereval.cli import app

runner = CliRunner()

# (what the file is meant to hold, its text or bytes), every way it can be wrong
JSON_FAULTS = {
    "not JSON": "{this is not json",
    "a list": "[1, 2, 3]",
    "a string": '"hello"',
    "wrong types": '{"temperature": "hot", "bias": [1], "weights": {"visual_quality": "x"}, "visual_quality": "x", '
                   '"reliability_before": "x", "questions": {"a": 1}}',
    "NaN": '{"temperature": NaN, "bias": 0, "visual_quality": NaN, "reliability_before": [{"p_mean": NaN, '
           '"frac_yes": 0.5}], "questions": [{"id": "q", "dimension": "visual_quality", "text": NaN, "good_answer": "yes"}]}',
    "a huge number": '{"temperature": 1e999, "visual_quality": 1e999, "reliability_before": [{"p_mean": 1e999, '
                     '"frac_yes": 1}], "questions": [{"id": 1e999}]}',
    "a number of 5000 digits": '{"temperature": ' + "9" * 5000 + ', "visual_quality": 1}',
    "deep nesting": "[" * 100_000,
    "empty": "",
    "binary bytes": bytes(range(256)) * 8,
}
JSONL_FAULTS = {
    "not JSON": "{this is not json\n",
    "a list per line": "[1, 2, 3]\n",
    "wrong types": '{"video": 3, "prompt": ["x"], "dimension": 5, "question": {}, "answer": "maybe"}\n',
    "NaN": '{"video": "v.mp4", "prompt": "a cat", "x": NaN, "dimension": "visual_quality", "question": "q?", '
           '"good_answer": "yes", "answer": NaN}\n',
    "a huge number": '{"video": "v.mp4", "prompt": 1e999}\n',
    "deep nesting": "[" * 100_000 + "\n",
    "empty": "",
    "binary bytes": bytes(range(256)) * 8,
}
PLACES = ("a folder", "a loop of links", "a FIFO", "missing")  # paths that are not a readable file


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    """A real video and results file, for the commands to reach the side file under test."""
    root = tmp_path_factory.mktemp("inputs")
    video = write_video(root / "v.mp4", frames=8, size=56)
    results = root / "results.jsonl"
    results.write_text(json.dumps({"id": "v", "video": str(video), "prompt": "a cat", "overall": 0.5,
                                   "dimensions": {"visual_quality": 0.5}, "questions": [], "model": "m"}) + "\n")
    return {"root": root, "video": video, "results": results, "model": root / "no-model"}


# the command line that reads side file FILE; every one fails on the side file before any model would load
COMMANDS = {
    "report --calibration-report": (JSON_FAULTS, lambda i, f: [
        "report", str(i["results"]), "--frames", "0", "--out", str(i["root"] / "r.html"), "--calibration-report", str(f)]),
    "score --weights": (JSON_FAULTS, lambda i, f: [
        "score", str(i["video"]), "--prompt", "a cat", "--model", str(i["model"]), "--weights", str(f)]),
    "score --calibration": (JSON_FAULTS, lambda i, f: [
        "score", str(i["video"]), "--prompt", "a cat", "--model", str(i["model"]), "--calibration", str(f)]),
    "score --questions": (JSON_FAULTS, lambda i, f: [
        "score", str(i["video"]), "--prompt", "a cat", "--model", str(i["model"]), "--questions", str(f)]),
    "score --manifest": (JSONL_FAULTS, lambda i, f: [
        "score", "--manifest", str(f), "--out", str(i["root"] / "m-out.jsonl"), "--model", str(i["model"])]),
    "score DIR --prompts (JSONL)": (JSONL_FAULTS, lambda i, f: [
        "score", str(i["root"]), "--prompts", str(f), "--out", str(i["root"] / "p-out.jsonl"), "--model", str(i["model"])]),
    "data check": (JSONL_FAULTS, lambda i, f: ["data", "check", str(f)]),
    "calibrate --data": (JSONL_FAULTS, lambda i, f: [
        "calibrate", "--data", str(f), "--model", str(i["model"]), "--out", str(i["root"] / "c.json")]),
    "export --manifest": (JSONL_FAULTS, lambda i, f: ["export", str(i["results"]), "--to", "csv", "--manifest", str(f)]),
}
CASES = [(command, fault) for command, (faults, _) in COMMANDS.items() for fault in [*faults, *PLACES]]


def _side_file(folder: Path, fault: str, faults: dict) -> Path:
    folder.mkdir()
    path = folder / "side.json"
    if fault == "a folder":
        path.mkdir()
    elif fault == "a loop of links":
        os.symlink(path, path)
    elif fault == "a FIFO":  # reading one would wait for a writer forever
        os.mkfifo(path)
    elif fault != "missing":
        content = faults[fault]
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("command", "fault"), CASES, ids=[f"{c}: {f}" for c, f in CASES])
def test_a_malformed_side_file_is_one_line_naming_it(inputs, tmp_path, command, fault):
    faults, make = COMMANDS[command]
    path = _side_file(tmp_path / "side", fault, faults)
    result = runner.invoke(app, make(inputs, path))
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), repr(result.exception)  # not an exception that escaped
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert str(path) in lines[0], lines[0]
    # `data check` lists the bad lines it finds (its job), each naming the file; the rest end in an error line
    assert lines[0].startswith(f"{path} line 1: ") and command == "data check" or lines[0].startswith("error"), lines[0]


def test_a_path_holding_rich_markup_is_printed_as_it_is(inputs, tmp_path):
    """A file name is text from outside: "[/b]" in it was a rich MarkupError traceback, "[bold]" vanished."""
    for name in ("a[/b].json", "[bold]w.json"):
        path = tmp_path / name
        result = runner.invoke(app, ["score", str(inputs["video"]), "--prompt", "a cat", "--model", str(inputs["model"]),
                                     "--weights", str(path)])
        assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
        assert result.stderr.strip() == f"error: weights file {path} not found; write one with `fingereval fit-weights`"


def test_a_prompts_csv_with_short_rows_or_an_overlong_field_is_one_line(inputs, tmp_path):
    shutil.copy(inputs["video"], tmp_path / "v.mp4")
    for text, says in [("video,prompt\nv.mp4\n", "line 2: needs a `video`"),
                       ("video,prompt\nv.mp4," + "x" * 200_000 + "\n", "line 2: field larger than field limit")]:
        prompts = tmp_path / "prompts.csv"
        prompts.write_text(text)
        result = runner.invoke(app, ["score", str(tmp_path), "--prompts", str(prompts), "--out",
                                     str(tmp_path / "r.jsonl"), "--model", str(inputs["model"])])
        assert result.exit_code == 2 and isinstance(result.exception, SystemExit), repr(result.exception)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and str(prompts) in lines[0] and says in lines[0], lines


def test_a_calibration_report_out_of_range_is_refused_before_any_video_is_decoded(inputs, tmp_path):
    report = tmp_path / "calibration.json"
    bins = [{"p_mean": 0.5, "frac_yes": 1.5}]  # a share of yes above one
    report.write_text(json.dumps({"calibration": {"reliability_before": bins}}))
    result = runner.invoke(app, ["report", str(inputs["results"]), "--out", str(tmp_path / "r.html"),
                                 "--calibration-report", str(report)])
    assert result.exit_code == 2
    assert result.stderr.strip().startswith(f"error (DataError): calibration report {report}: "
                                            "reliability_before.0.frac_yes: Input should be less than or equal to 1")
    assert not (tmp_path / "r.html").exists()
