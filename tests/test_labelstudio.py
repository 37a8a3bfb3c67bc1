"""The Label Studio round trip against a real Label Studio: our tasks in, two annotators' labels, its export back.

Label Studio and label-studio-sdk live in a virtual environment of their own (their pins never touch
ours), built once per version under FINGEREVAL_TEST_CACHE (default ~/.cache/fingereval-test) together
with a migrated, initialised data folder; each run copies that folder into tmp and starts the server on
a free loopback port: about 10 s a run once the environment is cached (building it takes about two
minutes, once per machine). Where the environment cannot be built (no wheels, no network) the test skips.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from conftest import write_video

LS_VERSION, SDK_VERSION = "1.23.2", "2.1.2"
ADMIN, PASSWORD = "admin@example.com", "fingereval-test"
TOKEN = "fingereval" + "0" * 30  # a legacy API token fixed at `label-studio init`, test-only
DRIVER = Path(__file__).with_name("labelstudio_driver.py")
CACHE = Path(os.environ.get("FINGEREVAL_TEST_CACHE", Path.home() / ".cache" / "fingereval-test"))
CONSTRAINTS = Path(__file__).parent / "data" / "labelstudio-constraints.txt"  # the tested set (a fresh resolve broke once)
QUIET = {"LATEST_VERSION_CHECK": "false", "COLLECT_ANALYTICS": "false"}  # no calls out of the machine


def _run(cmd: list[str], what: str, timeout: int, env: dict | None = None) -> None:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        pytest.skip(f"Label Studio environment: {what} ran past {timeout} s")
    if done.returncode != 0:
        lines = [line for line in (done.stdout + done.stderr).splitlines() if not line.startswith("WARNING: Location")]
        pytest.skip(f"Label Studio environment: {what} failed: {' | '.join(lines[-3:])}")


def _environment() -> Path:
    """The cached folder with venv/ (label-studio + sdk) and template/ (an initialised data folder)."""
    pinned = hashlib.sha256(CONSTRAINTS.read_bytes()).hexdigest()[:12]  # a new tested set builds a new folder
    home = CACHE / f"labelstudio-{LS_VERSION}-sdk-{SDK_VERSION}-{pinned}"
    home.parent.mkdir(parents=True, exist_ok=True)
    with open(home.parent / f"{home.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two test runs at once build it once
        if (home / "complete").exists():
            return home
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir()
        _run([sys.executable, "-m", "venv", str(home / "venv")], "python -m venv", 300)
        _run([str(home / "venv" / "bin" / "pip"), "install", "-q", "-c", str(CONSTRAINTS), f"label-studio=={LS_VERSION}",
              f"label-studio-sdk=={SDK_VERSION}"], "pip install label-studio", 1200)
        _run([str(home / "venv" / "bin" / "label-studio"), "init", "--username", ADMIN, "--password", PASSWORD,
              "--user-token", TOKEN, "--enable-legacy-api-token"], "label-studio init", 600,
             env={**os.environ, **QUIET, "LABEL_STUDIO_BASE_DATA_DIR": str(home / "template")})
        (home / "complete").write_text(f"label-studio {LS_VERSION}, label-studio-sdk {SDK_VERSION}\n")
    return home


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def labelstudio(tmp_path_factory):
    """(base URL, the venv's python, its local-files root) of a running Label Studio; it serves ROOT/videos."""
    home = _environment()
    root = tmp_path_factory.mktemp("labelstudio")
    data, share = root / "data", root / "share"
    shutil.copytree(home / "template", data)
    (share / "videos").mkdir(parents=True)  # a storage must be a folder below the document root
    port = _free_port()
    env = {**os.environ, **QUIET, "LABEL_STUDIO_BASE_DATA_DIR": str(data),
           "LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED": "true", "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT": str(share)}
    log = open(root / "server.log", "w")
    server = subprocess.Popen([str(home / "venv" / "bin" / "label-studio"), "start", "--no-browser",
                               "--internal-host", "127.0.0.1", "--port", str(port), "--username", ADMIN,
                               "--password", PASSWORD, "--user-token", TOKEN, "--enable-legacy-api-token"],
                              env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if server.poll() is not None:
                pytest.fail(f"Label Studio exited with {server.returncode}: {(root / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"Label Studio did not answer /health within 180 s: {(root / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield url, home / "venv" / "bin" / "python", share
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # its own session: the server and whatever it started
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()


def _drive(labelstudio, work: Path, tasks_dir: Path, annotators: list[str], labels: list[dict]) -> tuple[Path, dict]:
    """Run the driver in the Label Studio venv; (the export it downloaded, what it reports)."""
    url, python, share = labelstudio
    plan = {"url": url, "token": TOKEN, "config": str(tasks_dir / "config.xml"), "tasks": str(tasks_dir / "tasks.json"),
            "video_dir": str(share / "videos"), "export": str(work / "export.json"), "report": str(work / "report.json"),
            "annotators": annotators, "labels": labels}
    (work / "plan.json").write_text(json.dumps(plan))
    done = subprocess.run([str(python), str(DRIVER), str(work / "plan.json")], capture_output=True, text=True,
                          timeout=300, env={**os.environ, **QUIET})
    assert done.returncode == 0, done.stderr[-3000:]
    return work / "export.json", json.loads((work / "report.json").read_text())


ANN1, ANN2 = "ann1@example.com", "ann2@example.com"
QUESTIONS = [  # (id, video, dimension, question, good answer, reason written by an MLLM)
    ("a-q1", "a.mp4", "visual_quality", "Is the red square sharp?", "yes", "The edges stay crisp."),
    ("a-q2", "a.mp4", "temporal_consistency", "Does the red square flicker?", "no", "Its colour holds in every frame."),
    ("b-q1", "b c.mp4", "dynamic_degree", "Does the blue square move?", "yes", "It slides to the right."),
    ("b-q2", "b c.mp4", "text_alignment", "Is there a blue square?", "yes", None),
    ("b-q3", "b c.mp4", "factual_consistency", "Does the square float against gravity?", "no", "It rests on the floor."),
    ("b-q4", "b c.mp4", "visual_quality", "Is the background clean?", "yes", None),
]
LABELS = [
    {"item_id": "a-q1", "annotator": ANN1, "answer": "yes", "reason_verdict": "accept"},  # agree, reason kept
    {"item_id": "a-q1", "annotator": ANN2, "answer": "yes", "reason_verdict": "accept"},
    {"item_id": "a-q2", "annotator": ANN1, "answer": "yes", "reason_verdict": "accept"},  # agree, one rejects the reason
    {"item_id": "a-q2", "annotator": ANN2, "answer": "yes", "reason_verdict": "reject"},
    {"item_id": "b-q1", "annotator": ANN1, "answer": "no", "reason_verdict": "edit", "reason": "It stays still."},
    {"item_id": "b-q1", "annotator": ANN2, "answer": "no", "reason_verdict": "accept"},  # one edits: the edit is kept
    {"item_id": "b-q2", "annotator": ANN1, "answer": "yes"},  # disagree: left out
    {"item_id": "b-q2", "annotator": ANN2, "answer": "no"},
    {"item_id": "b-q3", "annotator": ANN1, "answer": "yes"},  # disagree, then adjudicated (ground truth)
    {"item_id": "b-q3", "annotator": ANN2, "answer": "no"},
    {"item_id": "b-q3", "annotator": ADMIN, "answer": "no", "reason_verdict": "accept", "ground_truth": True},
    {"item_id": "b-q4", "annotator": ANN2, "answer": "yes", "skipped": True},  # skipped only: unlabelled
]


def test_round_trip_through_a_real_label_studio(labelstudio, tmp_path):
    from fingereval.cli import app
    from fingereval.data.instruct import load_instruct

    _, _, share = labelstudio
    write_video(share / "videos" / "a.mp4", frames=4, size=56)
    write_video(share / "videos" / "b c.mp4", frames=4, size=56, moving=False, colour=(30, 30, 220))
    qa = share / "qa.jsonl"
    qa.write_text("".join(json.dumps({"id": i, "video": f"videos/{v}", "prompt": "a square on grey", "dimension": d,
                                      "question": q, "good_answer": g, "entity": "square", "reason": r}) + "\n"
                          for i, v, d, q, g, r in QUESTIONS))
    runner = CliRunner()
    out = runner.invoke(app, ["annotate", "to-labelstudio", str(qa), "--out", str(tmp_path / "ls")])
    assert out.exit_code == 0, out.output

    export, report = _drive(labelstudio, tmp_path, tmp_path / "ls", [ANN1, ANN2], LABELS)
    assert report["tasks"] == len(QUESTIONS)
    assert (report["video_status"], report["video_bytes"]) == (200, (share / "videos" / "a.mp4").stat().st_size)

    final = tmp_path / "final.jsonl"
    out = runner.invoke(app, ["annotate", "from-labelstudio", str(export), "--out", str(final)])
    assert out.exit_code == 0, out.output
    records = {r.id: r for r in load_instruct(final)}
    assert sorted(records) == ["a-q1", "a-q2", "b-q1", "b-q3"]
    assert {i: (r.answer, r.reason) for i, r in records.items()} == {
        "a-q1": ("yes", "The edges stay crisp."), "a-q2": ("yes", None), "b-q1": ("no", "It stays still."),
        "b-q3": ("no", "It rests on the floor.")}
    assert records["a-q2"].good_answer == "no" and records["a-q1"].dimension == "visual_quality"
    assert Path(records["a-q1"].video) == (share / "videos" / "a.mp4").resolve()
    assert "1 adjudicated" in out.output and "1 items still without agreement, 1 unlabelled" in out.output
    check = runner.invoke(app, ["data", "check", str(final)])
    assert check.exit_code == 0, check.output
    assert "4 records, 2 videos, 0 bad lines" in check.output
