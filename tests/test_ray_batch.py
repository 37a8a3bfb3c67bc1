"""Batch scoring on Ray workers: same results as in-process, failures recorded, resume, a dead worker."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import write_video
from fingereval.batch import run_manifest
from fingereval.evaluator import Evaluator
from fingereval.ray_batch import run_manifest_ray
from fingereval.video import VideoConfig

ray = pytest.importorskip("ray")

VC = VideoConfig(size=56, max_frames=4)
QUESTIONS = [{"id": "q1", "dimension": "text_alignment", "entity": "square", "text": "Does a square appear?", "good_answer": "yes"},
             {"id": "q2", "dimension": "temporal_consistency", "text": "Is there flicker?", "good_answer": "no"}]


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _manifest(tmp_path: Path, n_good: int = 3) -> Path:
    rows = []
    for i in range(n_good):
        write_video(tmp_path / f"v{i}.mp4", frames=8, size=56, colour=(200, 40 * i, 30), moving=i % 2 == 0)
        rows.append({"id": f"v{i}", "video": f"v{i}.mp4", "prompt": "A red square slides right", "questions": QUESTIONS})
    rows.append({"id": "missing", "video": "nope.mp4", "prompt": "x", "questions": QUESTIONS})
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows) + "{broken line\n")
    return manifest


def _by_id(path: Path) -> dict[str, dict]:
    return {r["id"]: r for r in map(json.loads, path.read_text().splitlines())}


def test_ray_workers_give_the_in_process_results_and_record_failures(local_ray, tiny_model_dir, tmp_path):
    manifest = _manifest(tmp_path)
    local_out, ray_out = tmp_path / "local.jsonl", tmp_path / "ray.jsonl"
    run_manifest(Evaluator(tiny_model_dir, video_config=VC), manifest, local_out, progress=False, on_event=lambda m: None)
    s = run_manifest_ray(dict(model=str(tiny_model_dir), video_config=VC), manifest, ray_out, workers=2,
                         progress=False, on_event=lambda m: None)
    assert (s.done, s.failed, len(s.bad_lines)) == (3, 1, 1)
    local, remote = _by_id(local_out), _by_id(ray_out)
    assert set(remote) == {"v0", "v1", "v2", "missing"}
    assert "not found" in remote["missing"]["error"]["message"]
    for key in ("v0", "v1", "v2"):
        got = [q["p_yes"] for q in remote[key]["questions"]]
        want = [q["p_yes"] for q in local[key]["questions"]]
        assert got == pytest.approx(want, abs=1e-6)
    # the three videos differ, so equal results are not one video's answer copied three times
    assert len({round(remote[k]["questions"][0]["p_yes"], 6) for k in ("v0", "v1", "v2")}) > 1

    again = run_manifest_ray(dict(model=str(tiny_model_dir), video_config=VC), manifest, ray_out, workers=2,
                             progress=False, on_event=lambda m: None)
    assert (again.skipped_existing, again.done, again.failed) == (4, 0, 0)
    assert len(ray_out.read_text().splitlines()) == 4


def test_a_worker_that_cannot_start_fails_its_items_and_the_batch_ends(local_ray, tmp_path):
    manifest = _manifest(tmp_path, n_good=2)
    out = tmp_path / "r.jsonl"
    events: list[str] = []
    s = run_manifest_ray(dict(model=str(tmp_path / "no-such-model"), video_config=VC), manifest, out, workers=2,
                         progress=False, on_event=events.append)
    assert (s.done, s.failed) == (0, 3)
    records = _by_id(out)
    assert all("Ray worker failed" in r["error"]["message"] for r in records.values())
    assert len(events) == 4  # the broken manifest line and the three failures, each named


def test_cli_workers_flag_scores_on_ray(local_ray, tiny_model_dir, tmp_path):
    from typer.testing import CliRunner

    from fingereval.cli import app

    manifest = _manifest(tmp_path, n_good=2)
    out = tmp_path / "r.jsonl"
    res = CliRunner().invoke(app, ["score", "--manifest", str(manifest), "--out", str(out), "--model", str(tiny_model_dir),
                                   "--workers", "2", "--size", "56", "--max-frames", "4", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())  # rich wraps long lines
    assert "2 Ray workers" in said and "done 2, failed 1" in said
    assert set(_by_id(out)) == {"v0", "v1", "missing"}
