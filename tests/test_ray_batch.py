"""Batch scoring on Ray workers: same results as in-process, failures recorded, resume, dead workers."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from conftest import time_limit, write_video
from fingereval.batch import run_manifest
from fingereval.errors import WorkerError
from fingereval.evaluator import Evaluator
from fingereval.config import ScoringConfig
from fingereval.ray_batch import run_manifest_ray
from fingereval.video import VideoConfig

ray = pytest.importorskip("ray")
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # Ray workers cannot import this test module

VC = VideoConfig(size=56, max_frames=4)
QUESTIONS = [{"id": "q1", "dimension": "text_alignment", "entity": "square", "text": "Does a square appear?", "good_answer": "yes"},
             {"id": "q2", "dimension": "temporal_consistency", "text": "Is there flicker?", "good_answer": "no"}]


@pytest.fixture(scope="module")
def local_ray():
    # workers import the test's own answerer (tests/crashing.py) by name, as a third-party backend would be
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"PYTHONPATH": str(Path(__file__).parent)}})
    yield
    ray.shutdown()


@pytest.fixture(autouse=True)
def bounded():
    """A hung worker fails its test after 4 minutes (each takes well under one) instead of hanging the suite."""
    with time_limit(240, "this Ray test"):
        yield


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
    s = run_manifest_ray(_config(tiny_model_dir), manifest, ray_out, workers=2,
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

    again = run_manifest_ray(_config(tiny_model_dir), manifest, ray_out, workers=2,
                             progress=False, on_event=lambda m: None)
    assert (again.skipped_existing, again.done, again.failed) == (4, 0, 0)
    assert len(ray_out.read_text().splitlines()) == 4


def test_workers_that_cannot_start_stop_the_batch_with_the_reason(local_ray, tmp_path):
    manifest = _manifest(tmp_path, n_good=2)
    out = tmp_path / "r.jsonl"
    events: list[str] = []
    with pytest.raises(WorkerError, match=r"no Ray worker could start: .*ConfigError: model .*no-such-model") as e:
        run_manifest_ray(_config(tmp_path / "no-such-model"), manifest, out, workers=2,
                         progress=False, on_event=events.append)
    assert "3 item(s) not scored" in str(e.value) and "\n" not in str(e.value)
    # no item is at fault, so none is recorded as failed: the same command scores them all once the model loads
    assert not out.exists() or out.read_text() == ""
    assert sum("could not start" in m and "dropped" in m for m in events) == 2


def _config(model, **more) -> ScoringConfig:
    """What the CLI hands Ray: plain data, never an answerer object."""
    return ScoringConfig(model=str(model), fps=VC.fps, max_frames=VC.max_frames, size=VC.size, **more)


def _rows(tmp_path: Path, names: list[str]) -> Path:
    for name in names:
        write_video(tmp_path / f"{name}.mp4", frames=8, size=56)
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps({"id": n, "video": f"{n}.mp4", "prompt": "A red square", "questions": QUESTIONS})
                                + "\n" for n in names))
    return manifest


def test_a_worker_that_dies_twice_is_dropped_and_the_other_scores_the_rest(local_ray, tiny_model_dir, tmp_path):
    names = [f"v{i}" for i in range(6)]
    manifest, out, events = _rows(tmp_path, names), tmp_path / "r.jsonl", []
    config = _config(tiny_model_dir, answerer="crashing:DiesOn",
                     answerer_options={"rule": "first-worker", "claim": str(tmp_path / "doomed-actor")})
    s = run_manifest_ray(config, manifest, out, workers=2, progress=False, on_event=events.append)
    # it died on its first item, was restarted, died on its second and left the pool: two failures, not a drained queue
    assert (s.done, s.failed) == (4, 2)
    records = _by_id(out)
    assert set(records) == set(names)
    assert sum("Ray worker failed" in r.get("error", {}).get("message", "") for r in records.values()) == 2
    assert sum("died 2 times" in m and "1 of 2 left" in m for m in events) == 1


def test_when_every_worker_has_died_the_batch_stops_and_keeps_what_it_finished(local_ray, tiny_model_dir, tmp_path):
    names = ["good0", "crash1", "crash2", "crash3", "crash4", "good5"]
    manifest, out = _rows(tmp_path, names), tmp_path / "r.jsonl"
    kwargs = _config(tiny_model_dir, answerer="crashing:DiesOn", answerer_options={"rule": "crash"})
    with pytest.raises(WorkerError, match="every Ray worker died") as e:
        run_manifest_ray(kwargs, manifest, out, workers=2, progress=False, on_event=lambda m: None)
    said = str(e.value)
    assert "1 item(s) not scored" in said and "scored 1, failed 4" in said and f"results in {out}" in said
    records = _by_id(out)
    assert set(records) == set(names) - {"good5"}  # the 4 crashes took both workers' 2 lives; good5 was never sent
    assert records["good0"]["overall"] is not None and all("error" in records[f"crash{i}"] for i in range(1, 5))


def test_cli_workers_flag_scores_on_ray(local_ray, tiny_model_dir, tmp_path):
    from typer.testing import CliRunner

    from fingereval.cli import app

    manifest = _manifest(tmp_path, n_good=2)
    out = tmp_path / "r.jsonl"
    res = CliRunner().invoke(app, ["score", "--manifest", str(manifest), "--out", str(out), "--model", str(tiny_model_dir),
                                   "--workers", "2", "--size", "56", "--max-frames", "4", "--device", "cpu"])
    assert res.exit_code == 1, res.output  # the missing video failed; the rest is scored and kept
    said = " ".join(res.output.split())  # rich wraps long lines
    assert "2 Ray workers" in said and "scored 2, failed 1" in said and "bad manifest lines 1" in said
    assert set(_by_id(out)) == {"v0", "v1", "missing"}

    res = CliRunner().invoke(app, ["score", "--manifest", str(manifest), "--out", str(tmp_path / "r2.jsonl"), "--model",
                                   str(tmp_path / "no-such-model"), "--workers", "2", "--device", "cpu"])
    assert res.exit_code == 2 and "Traceback" not in res.output
    assert res.stderr.strip().splitlines()[-1].startswith("error: no Ray worker could start")
