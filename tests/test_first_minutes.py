"""A new user's first mistakes are named before any model loads, and the hub cases say what to do.

The ordering is checked, not timed: the model loader is replaced by one that records its calls, and every bad
input must fail with its message while that record stays empty (the good input, the control, does call it)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import write_video
from openai_server import LoopbackHTTPServer
from fingereval.cli import app

runner = CliRunner()
FINGEREVAL = [sys.executable, "-m", "fingereval.cli"]


@pytest.fixture
def loader_calls(monkeypatch) -> list:
    """The transformers answerer's model loader, recorded and stopped: reaching it means inputs were not checked."""
    from fingereval.answer import transformers_backend

    calls: list = []

    def recorded(model, *args, **kwargs):
        calls.append(str(model))
        raise SystemExit("the model loader was reached")

    monkeypatch.setattr(transformers_backend, "load_model_and_processor", recorded)
    return calls


def _score(*args: str):
    return runner.invoke(app, ["score", *args, "--size", "56"])


def test_the_control_a_good_input_does_reach_the_loader(tiny_model_dir, red_video, loader_calls):
    _score(str(red_video), "--prompt", "a red square", "--model", str(tiny_model_dir))
    assert loader_calls == [str(tiny_model_dir)]


@pytest.mark.parametrize("case, message", [
    ("missing", "file not found"),
    ("empty", "file is empty (0 bytes)"),
    ("not_a_video", "not a readable video"),
    ("no_prompt", "give --prompt"),
    ("bad_weights", "is not valid JSON"),
    ("bad_questions", "unknown dimension 'sharpness'"),
])
def test_a_bad_single_input_fails_before_the_model_loads(case, message, tiny_model_dir, red_video, tmp_path,
                                                         loader_calls):
    video, extra = str(red_video), ["--prompt", "a red square"]
    if case == "missing":
        video = str(tmp_path / "missing.mp4")
    elif case == "empty":
        (tmp_path / "empty.mp4").write_bytes(b"")
        video = str(tmp_path / "empty.mp4")
    elif case == "not_a_video":
        (tmp_path / "notes.mp4").write_text("these are my notes, not a video\n" * 20)
        video = str(tmp_path / "notes.mp4")
    elif case == "no_prompt":
        extra = []
    elif case == "bad_weights":
        (tmp_path / "w.json").write_text("{not json")
        extra += ["--weights", str(tmp_path / "w.json")]
    elif case == "bad_questions":
        (tmp_path / "q.json").write_text('{"prompt": "x", "questions": [{"dimension": "sharpness"}]}')
        extra += ["--questions", str(tmp_path / "q.json")]
    r = _score(video, *extra, "--model", str(tiny_model_dir))
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output
    assert loader_calls == []


def test_a_manifest_is_checked_before_the_model_loads(tiny_model_dir, red_video, tmp_path, loader_calls):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text('{"video": "gone.mp4", "prompt": "x"}\n{"video": "also_gone.mp4", "prompt": "y"}\n')
    r = _score("--manifest", str(manifest), "--out", str(tmp_path / "r.jsonl"), "--model", str(tiny_model_dir))
    assert r.exit_code == 2 and "none of its 2 videos can be opened" in r.output, r.output
    manifest.write_text('{"no": "video"}\nnot json\n')
    r = _score("--manifest", str(manifest), "--out", str(tmp_path / "r.jsonl"), "--model", str(tiny_model_dir))
    assert r.exit_code == 2 and "no usable line" in r.output, r.output
    manifest.write_text(json.dumps({"video": str(red_video), "prompt": "a red square"}) + "\n"
                        '{"video": "gone.mp4", "prompt": "x"}\n')
    r = _score("--manifest", str(manifest), "--out", str(tmp_path / "r.jsonl"), "--model", str(tiny_model_dir))
    assert "1 of 2 videos" in r.output and "recorded as failures" in r.output  # a warning: the batch goes on
    assert loader_calls == [str(tiny_model_dir)]  # only the usable manifest reached the loader


def test_a_model_folder_without_a_checkpoint_is_named_before_loading(red_video, tmp_path, loader_calls):
    r = _score(str(red_video), "--prompt", "x", "--model", str(tmp_path))
    assert r.exit_code == 2 and "has no config.json" in r.output
    r = _score(str(red_video), "--prompt", "x", "--model", "./no/such/folder")
    assert r.exit_code == 2 and "no such directory" in r.output
    assert loader_calls == []


class FakeHub(BaseHTTPRequestHandler):
    """The hub's answers for a gated repo and an unknown one, with the error codes huggingface_hub reads."""

    def log_message(self, *args):
        pass

    def _answer(self):
        if self.path.startswith("/gated/"):
            code, error = 403, "GatedRepo"
        elif self.path == "/":
            code, error = 200, None
        else:
            code, error = 404, "RepoNotFound"
        self.send_response(code)
        if error:
            self.send_header("X-Error-Code", error)
            self.send_header("X-Error-Message", f"{error} for {self.path}")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_HEAD = do_GET = _answer


@pytest.fixture(scope="module")
def hub_url():
    server = LoopbackHTTPServer(("127.0.0.1", 0), FakeHub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()  # the listening socket, not left to the garbage collector


def _cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    # a new process: huggingface_hub reads HF_ENDPOINT and HF_HUB_OFFLINE when it is imported
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    return subprocess.run([*FINGEREVAL, *args], env={**clean, **env}, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("model, env, words", [
    ("gated/model", {}, ["is gated", "hf auth login", "HF_TOKEN", "local checkpoint folder"]),
    ("nobody/no-such-model", {}, ["no such model on the Hugging Face Hub", "check the id", "local checkpoint folder"]),
    ("Qwen/Qwen2.5-VL-7B-Instruct", {"HF_HUB_OFFLINE": "1"},
     ["not in the hub cache", "HF_HUB_OFFLINE=1 forbids downloading", "HF_HOME", "local checkpoint folder"]),
    ("Qwen/Qwen2.5-VL-7B-Instruct", {"HF_ENDPOINT": "http://127.0.0.1:9"},
     ["could not be fetched", "no network", "HF_HOME", "HF_HUB_OFFLINE=1 only the cache is used"]),
])
def test_hub_failures_say_what_happened_and_what_to_do(model, env, words, hub_url, red_video, tmp_path):
    env = {"HF_ENDPOINT": hub_url, "HF_HOME": str(tmp_path / "hf"), **env}
    done = _cli(env, "score", str(red_video), "--prompt", "a red square", "--model", model)
    assert done.returncode == 2, done.stderr
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith("error: model ") and all(w in line for w in words), line
    assert "Traceback" not in done.stderr and "no such directory" not in done.stderr


def test_version_and_doctor(tmp_path):
    from importlib.metadata import version

    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and r.output.strip() == f"fingereval {version('fingereval')}"
    done = _cli({"HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1"}, "doctor", "--json")
    report = json.loads(done.stdout)
    names = {c["name"]: c for c in report["checks"]}
    assert {"python", "torch", "decode H.264", "decode VP9", "decode AV1", "decode HEVC", "hub cache disk",
            "default model", "chromium", "LLM endpoint"} <= set(names)
    assert names["decode H.264"]["status"] == "ok"  # what write_video and every probe use
    assert names["default model"]["status"] == "warn" and "HF_HUB_OFFLINE=1" in names["default model"]["detail"]
    assert str(tmp_path / "hf") in names["hub cache disk"]["detail"]
    assert all(c["status"] == "ok" or c["detail"] for c in report["checks"])  # each line OK or what to do
    assert done.returncode == (0 if report["ok"] else 1)


def test_doctor_reaches_a_configured_llm_endpoint_or_says_it_does_not_answer():
    from openai_server import ChatServer, FixedReply

    with ChatServer(FixedReply(), served=("qwen-questions",)) as server:
        done = _cli({"FINGEREVAL_LLM_BASE_URL": server.url}, "doctor", "--json")
        llm = next(c for c in json.loads(done.stdout)["checks"] if c["name"] == "LLM endpoint")
        assert llm["status"] == "ok" and "qwen-questions" in llm["detail"]
    done = _cli({"FINGEREVAL_LLM_BASE_URL": server.url}, "doctor", "--json")  # the server is gone now
    llm = next(c for c in json.loads(done.stdout)["checks"] if c["name"] == "LLM endpoint")
    assert llm["status"] == "fail" and "does not answer" in llm["detail"] and done.returncode == 1
