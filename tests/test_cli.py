"""The command line end to end on a tiny checkpoint, checked with the shared output contract."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fingereval.cli import app

runner = CliRunner()
CHECK = Path(__file__).parent / "contracts" / "check_result.py"  # the project's copy of the shared check


def _check(tmp_path, stdout: str, *extra: str) -> str:
    path = tmp_path / "result.json"
    path.write_text(stdout)
    done = subprocess.run([sys.executable, str(CHECK), str(path), *extra], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout
    return done.stdout


def test_tiny_model_command_writes_a_loadable_checkpoint(tmp_path):
    r = runner.invoke(app, ["tiny-model", str(tmp_path / "tiny")])
    assert r.exit_code == 0, r.output
    for name in ("config.json", "model.safetensors", "tokenizer.json", "processor_config.json", "chat_template.jinja"):
        assert (tmp_path / "tiny" / name).exists(), name
    from transformers import AutoConfig

    assert AutoConfig.from_pretrained(tmp_path / "tiny").model_type == "qwen2_5_vl"


@pytest.mark.parametrize("mode", ["--no-reason", "--reason"])
def test_score_json_meets_the_contract(tiny_model_dir, red_video, tmp_path, mode):
    r = runner.invoke(app, ["score", str(red_video), "--prompt", "A red square slides to the right", "--model",
                            str(tiny_model_dir), "--size", "112", "--json", mode, "--max-new-tokens", "8"])
    assert r.exit_code == 0, r.output
    result = json.loads(r.stdout)
    assert set(result["dimensions"]) == {"visual_quality", "temporal_consistency", "dynamic_degree", "text_alignment",
                                         "factual_consistency"}
    assert all(v is not None for v in result["dimensions"].values())  # templates ask in every dimension
    assert result["mode"] == mode.strip("-").replace("no-reason", "direct")
    assert "ok:" in _check(tmp_path, r.stdout, *(["reason"] if mode == "--reason" else []))


def test_questions_file_round_trip_and_scoring_with_it(tiny_model_dir, red_video, tmp_path):
    q = tmp_path / "q.json"
    r = runner.invoke(app, ["questions", "--prompt", "A red square slides to the right", "--out", str(q)])
    assert r.exit_code == 0, r.output
    n = len(json.loads(q.read_text())["questions"])
    r = runner.invoke(app, ["score", str(red_video), "--questions", str(q), "--model", str(tiny_model_dir),
                            "--size", "112", "--json"])
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.stdout)["questions"]) == n


def test_bad_inputs_give_one_clear_line(tiny_model_dir, tmp_path):
    r = runner.invoke(app, ["score", str(tmp_path / "missing.mp4"), "--prompt", "x", "--model", str(tiny_model_dir)])
    assert r.exit_code == 2 and "missing.mp4: file not found" in r.stderr and "Traceback" not in r.output
    r = runner.invoke(app, ["questions", "--prompt", "a cat", "--generator", "llm"], env={"FINGEREVAL_LLM_BASE_URL": "",
                                                                                        "OPENAI_BASE_URL": ""})
    assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1
    r = runner.invoke(app, ["score", "--prompt", "x"])
    assert r.exit_code == 2 and "VIDEO" in r.stderr


def test_weights_file_sets_the_overall(tiny_model_dir, red_video, tmp_path):
    w = {"visual_quality": 0.7, "temporal_consistency": 0.3, "dynamic_degree": 0, "text_alignment": 0,
         "factual_consistency": 0}
    (tmp_path / "w.json").write_text(json.dumps({"weights": w}))
    r = runner.invoke(app, ["score", str(red_video), "--prompt", "A red square slides to the right", "--model",
                            str(tiny_model_dir), "--size", "112", "--json", "--weights", str(tmp_path / "w.json")])
    assert r.exit_code == 0, r.output
    res = json.loads(r.stdout)
    d = res["dimensions"]
    assert res["overall"] == pytest.approx(0.7 * d["visual_quality"] + 0.3 * d["temporal_consistency"], abs=1e-9)


def test_version_flag_prints_the_installed_version():
    from importlib.metadata import version

    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0 and r.stdout.strip() == f"fingereval {version('fingereval')}"
