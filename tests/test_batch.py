"""Batch scoring from a manifest: bad lines, failed items, resume, and a kill -9 in the middle."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import write_video
from fingereval.batch import done_ids, run_manifest
from fingereval.evaluator import Evaluator
from fingereval.video import VideoConfig

VC = VideoConfig(size=56, max_frames=4)
QUESTIONS = [{"id": "q1", "dimension": "text_alignment", "entity": "square", "text": "Does a square appear?", "good_answer": "yes"},
             {"id": "q2", "dimension": "temporal_consistency", "text": "Is there flicker?", "good_answer": "no"}]


@pytest.fixture(scope="module")
def evaluator(tiny_model_dir):
    return Evaluator(tiny_model_dir, video_config=VC)


@pytest.fixture()
def videos(tmp_path):
    return [write_video(tmp_path / f"v{i}.mp4", frames=8, size=56) for i in range(4)]


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_bad_lines_and_failed_items_are_reported_and_the_rest_scored(evaluator, videos, tmp_path):
    (tmp_path / "broken.mp4").write_text("not a video")
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("\n".join([
        json.dumps({"id": "good", "video": "v0.mp4", "prompt": "A red square slides right", "questions": QUESTIONS}),
        "{this is not json",
        json.dumps({"video": "v1.mp4"}),  # no prompt
        json.dumps({"id": "bad-video", "video": "broken.mp4", "prompt": "x", "questions": QUESTIONS}),
        json.dumps({"id": "missing", "video": "nope.mp4", "prompt": "x", "questions": QUESTIONS}),
        json.dumps({"id": "bad-q", "video": "v2.mp4", "prompt": "x", "questions": [{"id": "z", "dimension": "beauty", "text": "?", "good_answer": "yes"}]}),
        json.dumps({"id": "templated", "video": "v3.mp4", "prompt": "A red square slides to the right"}),
    ]) + "\n")
    events: list[str] = []
    out = tmp_path / "r.jsonl"
    s = run_manifest(evaluator, manifest, out, on_event=events.append, progress=False)
    assert (s.done, s.failed, len(s.bad_lines)) == (2, 3, 2)
    assert any("line 2" in e for e in s.bad_lines) and any("line 3" in e and "prompt" in e for e in s.bad_lines)
    recs = {r["id"]: r for r in _lines(out)}
    assert set(recs) == {"good", "bad-video", "missing", "bad-q", "templated"}
    assert recs["good"]["overall"] is not None and len(recs["good"]["questions"]) == 2
    assert recs["bad-video"]["error"]["type"] == "VideoError" and "overall" not in recs["bad-video"]
    assert "not found" in recs["missing"]["error"]["message"]
    assert "unknown dimension" in recs["bad-q"]["error"]["message"]
    assert {q["dimension"] for q in recs["templated"]["questions"]} == set(recs["templated"]["dimensions"])


def test_resume_skips_done_ids_and_retry_failed_reruns_failures(evaluator, videos, tmp_path):
    manifest = tmp_path / "m.jsonl"
    items = [{"id": f"i{i}", "video": str(v), "prompt": "A red square", "questions": QUESTIONS} for i, v in enumerate(videos)]
    manifest.write_text("\n".join(json.dumps(x) for x in items[:2]) + "\n")
    out = tmp_path / "r.jsonl"
    run_manifest(evaluator, manifest, out, progress=False)
    first = out.read_text()
    items[3]["video"] = str(tmp_path / "later.mp4")  # not there yet: fails
    manifest.write_text("\n".join(json.dumps(x) for x in items) + "\n")
    s = run_manifest(evaluator, manifest, out, progress=False, on_event=lambda m: None)
    assert (s.skipped_existing, s.done, s.failed) == (2, 1, 1)
    assert out.read_text().startswith(first)  # finished results untouched
    write_video(tmp_path / "later.mp4", frames=8, size=56)
    s = run_manifest(evaluator, manifest, out, progress=False, retry_failed=True)
    assert (s.done, s.failed) == (1, 0)
    ids = [r["id"] for r in _lines(out)]
    assert sorted(ids) == ["i0", "i1", "i2", "i3"] and all("error" not in r for r in _lines(out))


def test_torn_last_line_is_cut_before_appending(tmp_path):
    out = tmp_path / "r.jsonl"
    out.write_text(json.dumps({"id": "a", "overall": 0.5}) + "\n" + '{"id": "b", "ove')
    assert done_ids(out) == {"a"}
    assert out.read_text().endswith("\n") and len(out.read_text().splitlines()) == 1


def test_kill_9_mid_batch_then_rerun_loses_and_duplicates_nothing(tiny_model_dir, tmp_path):
    vids = [write_video(tmp_path / f"k{i}.mp4", frames=16, size=56) for i in range(8)]
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("\n".join(json.dumps({"id": f"k{i}", "video": str(v), "prompt": "A red square slides right"})
                                  for i, v in enumerate(vids)) + "\n")
    out = tmp_path / "r.jsonl"
    cmd = [sys.executable, "-m", "fingereval.cli", "score", "--manifest", str(manifest), "--out", str(out),
           "--model", str(tiny_model_dir), "--size", "56", "--reason", "--max-new-tokens", "48"]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 2):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = [json.loads(x) for x in out.read_text().splitlines() if x.endswith("}")]
    assert 2 <= len(before) < 8, "the kill should land mid-batch"
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
    after = _lines(out)
    assert sorted(r["id"] for r in after) == [f"k{i}" for i in range(8)]
    assert after[:len(before)] == before  # what was finished before the kill is kept as it was


def test_relative_paths_are_recorded_from_the_results_folder_where_the_report_finds_them(evaluator, tmp_path,
                                                                                           monkeypatch):
    """A manifest given as a relative path (its videos joined to its folder, so relative to the working folder)
    and results in another folder: the results say where the video is from the results file's folder (as the
    report reads it), and an absolute path stays as it was."""
    from fingereval.report import locate_video

    monkeypatch.chdir(tmp_path)
    write_video(tmp_path / "clips" / "a.mp4", frames=8, size=56)
    far = write_video(tmp_path / "elsewhere" / "b.mp4", frames=8, size=56)
    (tmp_path / "clips" / "m.jsonl").write_text(
        json.dumps({"id": "a", "video": "a.mp4", "prompt": "a square", "questions": QUESTIONS}) + "\n"
        + json.dumps({"id": "b", "video": str(far), "prompt": "a square", "questions": QUESTIONS}) + "\n")
    out = Path("runs/today/r.jsonl")
    run_manifest(evaluator, Path("clips/m.jsonl"), out, on_event=lambda _: None, progress=False)
    rows = {r["id"]: r for r in _lines(tmp_path / out)}
    assert rows["a"]["video"] == "../../clips/a.mp4"  # from runs/today/ up twice, then clips/ (by hand)
    assert rows["b"]["video"] == str(far)
    assert locate_video(rows["a"]["video"], (tmp_path / out).parent, None).resolve() == (tmp_path / "clips" / "a.mp4")
