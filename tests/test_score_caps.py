"""The service's caps on the command line (issue 26 §2): `fingereval score --max-questions / --max-prompt-chars /
--max-video-seconds / --max-video-frames / --max-videos`. Off unless given; a single video over a cap is one
line before the model loads, a batch over --max-videos is refused before it starts, and an item over a
per-video cap is recorded as a failure (LimitExceeded) while the others are scored.
"""
from __future__ import annotations

import json

from typer.testing import CliRunner

from conftest import write_video

from fingereval.cli import app as cli

PROMPT = "a red square slides right"
SMALL = ["--size", "56", "--max-frames", "4"]


def _run(*args: str):
    return CliRunner().invoke(cli, ["score", *args])


def test_one_video_over_a_cap_is_one_line_before_the_model_loads(tmp_path):
    video = write_video(tmp_path / "v.mp4", frames=8, size=56)  # 8 frames, 1 s
    questions = tmp_path / "q.json"
    questions.write_text(json.dumps({"prompt": PROMPT, "questions": [
        {"id": f"q{i}", "dimension": "text_alignment", "text": f"Is there a square {i}?", "good_answer": "yes"}
        for i in range(3)]}))
    missing_model = str(tmp_path / "no-model-here")  # the caps are checked before the model's files are looked for
    for extra, option in [(["--max-prompt-chars", "10"], "--max-prompt-chars"),
                          (["--questions", str(questions), "--max-questions", "2"], "--max-questions"),
                          (["--max-video-frames", "7"], "--max-video-frames"),
                          (["--max-video-seconds", "0.5"], "--max-video-seconds")]:
        r = _run(str(video), "--prompt", PROMPT, "--model", missing_model, *extra)
        assert r.exit_code == 2, r.output
        assert option in r.output and "over the cap" in r.output and len(r.output.strip().splitlines()) == 1, r.output
    r = _run(str(video), "--prompt", PROMPT, "--model", missing_model, "--max-video-frames", "8")
    assert "over the cap" not in r.output and "no-model-here" in r.output  # at the cap: on to the model's files


def test_a_batch_over_max_videos_is_refused_before_it_runs(tmp_path, tiny_model_dir):
    video = write_video(tmp_path / "v.mp4", frames=8, size=56)
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps({"video": str(video), "prompt": PROMPT, "id": str(i)}) + "\n"
                                for i in range(3)))
    out = tmp_path / "results.jsonl"
    r = _run("--manifest", str(manifest), "--out", str(out), "--model", str(tiny_model_dir), "--max-videos", "2", *SMALL)
    assert r.exit_code == 2 and "3 videos, over the cap of 2 videos per batch (--max-videos)" in r.output, r.output
    assert not out.exists()


def test_a_batch_records_an_item_over_a_cap_and_scores_the_others(tmp_path, tiny_model_dir):
    short = write_video(tmp_path / "short.mp4", frames=8, size=56)
    long = write_video(tmp_path / "long.mp4", frames=24, size=56)
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"video": str(short), "prompt": PROMPT, "id": "short"}) + "\n" +
                        json.dumps({"video": str(long), "prompt": PROMPT, "id": "long"}) + "\n")
    out = tmp_path / "results.jsonl"
    r = _run("--manifest", str(manifest), "--out", str(out), "--model", str(tiny_model_dir),
             "--max-video-frames", "16", "--max-videos", "2", *SMALL)
    assert r.exit_code == 1, r.output  # one item failed
    results = {x["id"]: x for x in map(json.loads, out.read_text().splitlines())}
    assert results["short"].get("error") is None and results["short"]["overall"] is not None
    assert results["long"]["error"]["type"] == "LimitExceeded" and "--max-video-frames" in results["long"]["error"]["message"]
