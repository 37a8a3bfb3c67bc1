"""A custom rubric end to end through the CLI and the service (docs/rubric.md): questions in its camera-motion
dimension, scores with its weights, the result naming it, export and report with its columns, and refusals.

The answers come from the local OpenAI-compatible test server: p_yes 0.8 for a question about the camera and
0.3 for any other, so every expected score is computed here by hand from the questions file and the rubric.
"""
from __future__ import annotations

import base64
import csv
import io
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from fingereval.cli import app
from fingereval.rubric import default_rubric, load_rubric

from openai_server import ChatServer, completion, assistant_text
from serving import free_port

RUBRIC = {
    "name": "camera_test",
    "prompt_questions": {"dimension": "subject", "include": ["presence"]},
    "dimensions": [
        {"key": "camera_motion", "name": "camera motion", "description": "the camera moves smoothly", "weight": 3,
         "entity_questions": {"any": [{"text": "{Do} {the} stay in frame as the camera moves?", "good_answer": "yes"}]},
         "per_entity_questions": 1,
         "video_questions": [{"text": "Does the camera shake?", "good_answer": "no"},
                             {"text": "Does the camera pan smoothly?", "good_answer": "yes"}]},
        {"key": "subject", "name": "subject", "description": "the prompt's things are there", "weight": 1,
         "video_questions": [{"text": "Is the picture sharp?", "good_answer": "yes"}]},
    ],
}
PROMPT = "A red car drives down a street"
P_CAMERA, P_OTHER = 0.8, 0.3
SERVED = ["--answerer", "openai", "--model", "served", "--size", "56"]


def camera_reply(body: dict) -> dict:
    """The answer slot's next tokens: Yes with p 0.8 when the question mentions the camera, else 0.3."""
    text = assistant_text(body)
    user = body["messages"][0]["content"]
    question = user if isinstance(user, str) else " ".join(p.get("text", "") for p in user if p.get("type") == "text")
    p = P_CAMERA if "camera" in question.lower() else P_OTHER
    top = [(">", 0.0)] if text.endswith("<answer") else [("Yes", math.log(p)), ("No", math.log(1 - p))]
    return completion("served", top[0][0], "length", top=top)


def expected_scores(questions: list[dict], rubric: dict) -> tuple[dict[str, float], float]:
    """Per-dimension mean of the question scores and the weighted overall, from the rubric's own weights."""
    by_dim: dict[str, list[float]] = {}
    for q in questions:
        p = P_CAMERA if "camera" in q["text"].lower() else P_OTHER
        by_dim.setdefault(q["dimension"], []).append(p if q["good_answer"] == "yes" else 1 - p)
    means = {k: sum(v) / len(v) for k, v in by_dim.items()}
    weights = {d["key"]: d["weight"] for d in rubric["dimensions"]}
    return means, sum(weights[k] * m for k, m in means.items()) / sum(weights[k] for k in means)


@pytest.fixture()
def rubric_file(tmp_path: Path) -> Path:
    path = tmp_path / "camera.yaml"
    path.write_text(yaml.safe_dump(RUBRIC, sort_keys=False), encoding="utf-8")
    return path


def run(*args: str) -> object:
    return CliRunner().invoke(app, [str(a) for a in args])


def test_a_custom_rubric_asks_scores_records_exports_and_reports(rubric_file, red_video, tmp_path):
    questions_file = tmp_path / "q.json"
    asked = run("questions", "--prompt", PROMPT, "--rubric", rubric_file, "--out", questions_file)
    assert asked.exit_code == 0, asked.output
    questions = json.loads(questions_file.read_text())["questions"]
    camera = [q for q in questions if q["dimension"] == "camera_motion"]
    # the rubric's templates: one entity question (per_entity_questions 1), then its two whole-video questions
    assert [q["text"] for q in camera] == ["Does the red car stay in frame as the camera moves?",
                                           "Does the camera shake?", "Does the camera pan smoothly?"]
    assert {q["dimension"] for q in questions} == {"camera_motion", "subject"}
    means, overall = expected_scores(questions, RUBRIC)
    assert means["camera_motion"] == pytest.approx((0.8 + 0.2 + 0.8) / 3) and means["subject"] == pytest.approx(0.3)

    with ChatServer(camera_reply) as chat:
        served = [*SERVED, "--base-url", chat.url]
        one = run("score", red_video, "--questions", questions_file, "--rubric", rubric_file, *served, "--json")
        assert one.exit_code == 0, one.output
        result = json.loads(one.output)
        manifest = tmp_path / "m.jsonl"
        manifest.write_text("".join(json.dumps({"video": str(red_video), "prompt": PROMPT, "id": f"v{i}"}) + "\n"
                                    for i in range(2)))
        batch = run("score", "--manifest", manifest, "--out", tmp_path / "r.jsonl", "--rubric", rubric_file, *served)
        assert batch.exit_code == 0, batch.output

    assert result["dimensions"] == pytest.approx(means) and result["overall"] == pytest.approx(overall)
    assert overall == pytest.approx((3 * 0.6 + 1 * 0.3) / 4)
    rubric = load_rubric(rubric_file)
    assert result["rubric"] == {"name": "camera_test", "sha256": rubric.sha256}
    assert rubric.sha256 != default_rubric().sha256

    # the batch generated the same questions from the prompt, in the rubric's dimensions
    rows = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["v0", "v1"]
    assert all(r["dimensions"] == pytest.approx(means) and r["rubric"]["sha256"] == rubric.sha256 for r in rows)

    exported = run("export", tmp_path / "r.jsonl", "--to", "csv")
    assert exported.exit_code == 0, exported.output
    table = list(csv.DictReader(io.StringIO(exported.output)))
    assert float(table[0]["camera_motion"]) == pytest.approx(means["camera_motion"])
    assert float(table[0]["subject"]) == pytest.approx(0.3) and "visual_quality" not in table[0]
    assert table[0]["rubric"] == "camera_test" and table[0]["lost_camera_motion"] == "1"  # "shake": 0.2 < 0.5
    md = run("export", tmp_path / "r.jsonl", "--to", "md", "--rubric", rubric_file)
    assert md.exit_code == 0 and "| model | videos | failed | overall | camera motion | subject |" in md.output
    other = run("export", tmp_path / "r.jsonl", "--to", "csv", "--rubric", "finger")  # not the rubric they used
    assert other.exit_code == 2 and "'camera_motion' (scored with the rubric 'camera_test')" in other.output
    assert "--rubric" in other.output and len(other.output.strip().splitlines()) == 1

    report = run("report", tmp_path / "r.jsonl", "--out", tmp_path / "r.html", "--frames", "1")
    assert report.exit_code == 0, report.output
    page = (tmp_path / "r.html").read_text()
    assert '"key":"camera_motion","label":"camera motion"' in page and 'data-dimension="camera motion"' in page
    assert "rubric camera_test" in page and '"key":"visual_quality"' not in page


def test_a_questions_file_with_a_dimension_outside_the_rubric_is_refused_in_one_line(rubric_file, red_video, tmp_path):
    recorded = tmp_path / "recorded.json"
    assert run("questions", "--prompt", PROMPT, "--rubric", rubric_file, "--out", recorded).exit_code == 0
    questions = tmp_path / "q.json"  # written by hand (or before files recorded their rubric): no rubric field
    questions.write_text(json.dumps({k: v for k, v in json.loads(recorded.read_text()).items() if k != "rubric"}))
    with ChatServer(camera_reply) as chat:
        got = run("score", red_video, "--questions", questions, *SERVED, "--base-url", chat.url, "--json")
        named = run("score", red_video, "--questions", recorded, *SERVED, "--base-url", chat.url, "--json")
        assert chat.bodies == []  # refused before any question reached the model
    assert got.exit_code == 2
    line = got.output.strip()
    assert "\n" not in line and "'camera_motion'" in line and "--rubric" in line and str(questions) in line
    line = named.output.strip()  # the file says which rubric it was written with: both are named
    assert named.exit_code == 2 and "\n" not in line and "'camera_test'" in line and "'finger'" in line


def test_a_questions_file_records_its_rubric_and_another_rubric_is_refused_in_one_line(rubric_file, red_video,
                                                                                       tmp_path):
    questions = tmp_path / "q.json"
    assert run("questions", "--prompt", PROMPT, "--rubric", rubric_file, "--out", questions).exit_code == 0
    written = json.loads(questions.read_text())
    used = load_rubric(rubric_file)
    assert written["rubric"] == {"name": "camera_test", "sha256": used.sha256}  # as a result records it
    # the same dimensions, so only the record tells them apart: another name is refused, another weight is not
    reweighted = tmp_path / "reweighted.yaml"
    reweighted.write_text(yaml.safe_dump({**RUBRIC, "dimensions": [{**RUBRIC["dimensions"][0], "weight": 1},
                                                                   RUBRIC["dimensions"][1]]}, sort_keys=False))
    renamed = tmp_path / "renamed.yaml"
    renamed.write_text(yaml.safe_dump({**RUBRIC, "name": "camera_other"}, sort_keys=False))
    older = tmp_path / "older.json"  # written before questions files recorded their rubric
    older.write_text(json.dumps({k: v for k, v in written.items() if k != "rubric"}))
    with ChatServer(camera_reply) as chat:
        served = [*SERVED, "--base-url", chat.url, "--json"]
        refused = run("score", red_video, "--questions", questions, "--rubric", renamed, *served)
        assert chat.bodies == []  # refused before any question reached the model
        ok = run("score", red_video, "--questions", questions, "--rubric", rubric_file, *served)
        # the same rubric edited (another weight): its questions still hold, the result records the edited one
        edited = run("score", red_video, "--questions", questions, "--rubric", reweighted, *served)
        old = run("score", red_video, "--questions", older, "--rubric", reweighted, *served)
    line = refused.output.strip()
    assert refused.exit_code == 2 and "\n" not in line and str(questions) in line, refused.output
    assert f"'camera_test' (sha256 {used.sha256[:12]})" in line
    assert f"'camera_other' (sha256 {load_rubric(renamed).sha256[:12]})" in line and "--rubric" in line
    assert ok.exit_code == 0 and json.loads(ok.stdout)["rubric"]["sha256"] == used.sha256
    assert edited.exit_code == 0 and json.loads(edited.stdout)["rubric"]["sha256"] == load_rubric(reweighted).sha256
    assert old.exit_code == 0 and json.loads(old.stdout)["rubric"]["sha256"] == load_rubric(reweighted).sha256


def test_a_malformed_rubric_is_one_line_from_the_command(red_video, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**RUBRIC, "dimensions": [{**RUBRIC["dimensions"][0], "weight": -2},
                                                            RUBRIC["dimensions"][1]]}, sort_keys=False))
    for args in (["questions", "--prompt", PROMPT], ["score", red_video, "--prompt", PROMPT, *SERVED,
                                                     "--base-url", "http://127.0.0.1:9/v1"]):
        got = run(*args, "--rubric", bad)
        assert got.exit_code == 2, got.output
        line = got.output.strip()
        assert "\n" not in line and f"rubric file {bad} line" in line and "(camera_motion).weight" in line


def test_fit_weights_and_data_check_follow_the_rubric(rubric_file, tmp_path):
    results = tmp_path / "r.jsonl"
    rows = []
    for i, (cam, sub) in enumerate([(0.9, 0.1), (0.2, 0.5), (0.6, 0.4), (0.4, 0.9), (0.8, 0.3)]):
        rows.append({"video": f"v{i}.mp4", "prompt": PROMPT, "overall": 0.5, "model": "m",
                     "dimensions": {"camera_motion": cam, "subject": sub},
                     "rubric": load_rubric(rubric_file).ref().model_dump()})
    results.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ratings = tmp_path / "ratings.jsonl"  # people rate by the camera only: all the weight goes to camera_motion
    ratings.write_text("".join(json.dumps({"video": r["video"], "overall": 1 + 4 * r["dimensions"]["camera_motion"]})
                               + "\n" for r in rows))
    out = tmp_path / "w.json"
    fitted = run("fit-weights", "--ratings", ratings, "--scores", results, "--out", out, "--rubric", rubric_file)
    assert fitted.exit_code == 0, fitted.output
    written = json.loads(out.read_text())
    assert written["weights"] == pytest.approx({"camera_motion": 1.0, "subject": 0.0}, abs=1e-6)
    assert written["rubric"]["name"] == "camera_test"

    qa = tmp_path / "qa.jsonl"
    qa.write_text(json.dumps({"video": "v0.mp4", "prompt": PROMPT, "dimension": "camera motion",
                              "question": "Does the camera shake?", "good_answer": "no", "answer": "no"}) + "\n")
    ok = run("data", "check", qa, "--rubric", rubric_file)
    assert ok.exit_code == 0 and "camera_motion" in ok.output
    refused = run("data", "check", qa)  # FingER's rubric has no camera motion: a bad line naming it
    assert refused.exit_code == 1 and "unknown dimension 'camera motion'" in refused.output
    assert "--rubric" in refused.output


def test_the_service_scores_with_its_rubric(rubric_file, red_video, tmp_path):
    """`fingereval serve --rubric`: questions generated in its dimensions, its weights, GET /v1/rubric, the
    OpenAPI schema's dimension enum, and a question of another dimension refused with 422 in the error shape."""
    port = free_port()
    with ChatServer(camera_reply) as chat:
        cmd = [sys.executable, "-m", "fingereval.cli", "serve", *SERVED, "--base-url", chat.url, "--port", str(port),
               "--rubric", str(rubric_file)]
        env = {**os.environ, "FINGEREVAL_SERVE_TOKEN": "", "OMP_NUM_THREADS": "1"}
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):  # at most 60 s to start
                try:
                    if httpx.get(f"{base}/health").status_code == 200:
                        break
                except httpx.TransportError:
                    assert proc.poll() is None, proc.stdout.read()
                    time.sleep(0.2)
            served = httpx.get(f"{base}/v1/rubric").json()
            assert served["name"] == "camera_test" and served["sha256"] == load_rubric(rubric_file).sha256
            schema = json.dumps(httpx.get(f"{base}/openapi.json").json())
            assert '"enum": ["camera_motion", "subject"]' in schema and '"visual_quality"' not in schema
            video = base64.b64encode(red_video.read_bytes()).decode()
            r = httpx.post(f"{base}/v1/score", json={"video": video, "prompt": PROMPT}, timeout=60)
            assert r.status_code == 200, r.text
            result = r.json()
            questions = [{"dimension": q["dimension"], "text": q["question"], "good_answer": q["good_answer"]}
                         for q in result["questions"]]
            means, overall = expected_scores(questions, RUBRIC)
            assert set(means) == {"camera_motion", "subject"}
            assert result["dimensions"] == pytest.approx(means) and result["overall"] == pytest.approx(overall)
            assert result["rubric"]["name"] == "camera_test"
            other = [{"id": "1", "dimension": "visual_quality", "text": "Is the car sharp?", "good_answer": "yes"}]
            refused = httpx.post(f"{base}/v1/score", json={"video": video, "prompt": PROMPT, "questions": other},
                                 timeout=60)
            assert refused.status_code == 422  # a bad request body the client can fix, as any bad question
            error = refused.json()["error"]
            assert error["type"] == "DataError" and "'visual_quality'" in error["message"]
            assert "--rubric" in error["message"] and "\n" not in error["message"]
        finally:
            proc.send_signal(signal.SIGINT)
            output = proc.communicate(timeout=30)[0]
    assert "Traceback" not in output


def test_ray_workers_score_with_the_rubric_of_the_run(rubric_file, red_video, tmp_path):
    """`score --workers`: the rubric reaches each Ray worker as content (its file is gone by then), and every
    result is scored and recorded with it."""
    from conftest import local_ray

    from fingereval.config import ScoringConfig
    from fingereval.ray_batch import run_manifest_ray

    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps({"id": f"v{i}", "video": str(red_video), "prompt": PROMPT}) + "\n"
                                for i in range(2)))
    with ChatServer(camera_reply) as chat:
        config = ScoringConfig(answerer="openai", model="served", size=56, answerer_options={"base_url": chat.url},
                               rubric=rubric_file)
        rubric_file.unlink()  # the workers read the rubric from the config, not from a file
        with local_ray():
            summary = run_manifest_ray(config, manifest, tmp_path / "r.jsonl", workers=1, gpus_per_worker=0.0,
                                       on_event=lambda m: None)
    assert summary.ok and summary.done == 2
    for row in map(json.loads, (tmp_path / "r.jsonl").read_text().splitlines()):
        questions = [{"dimension": q["dimension"], "text": q["question"], "good_answer": q["good_answer"]}
                     for q in row["questions"]]
        means, overall = expected_scores(questions, RUBRIC)
        assert set(means) == {"camera_motion", "subject"} and row["dimensions"] == pytest.approx(means)
        assert row["overall"] == pytest.approx(overall) and row["rubric"]["sha256"] == config.rubric.sha256


# ---- bench stability --rubric ------------------------------------------------------------------------------------

def _camera_data(tmp_path: Path) -> Path:
    """Two videos, each with a camera and a subject question (the rubric's dimensions, not FingER's)."""
    from conftest import write_video

    rows = []
    for name, colour in (("red", (220, 30, 30)), ("blue", (30, 30, 220))):
        write_video(tmp_path / "clips" / f"{name}.mp4", size=56, colour=colour)
        for dim, text, good in (("camera_motion", "Does the camera shake?", "no"),
                                ("subject", f"Is there a {name} square?", "yes"),
                                ("subject", "Is the picture sharp?", "yes")):
            rows.append({"video": f"clips/{name}.mp4", "prompt": f"a {name} square slides right", "dimension": dim,
                         "question": text, "good_answer": good, "answer": good})
    path = tmp_path / "qa.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_bench_stability_follows_the_rubric(tiny_model_dir, tmp_path):
    """Its dimensions are read, its weights make the overall (subject weighs 0 here, so the overall's change is the
    camera's), each dimension's change is reported, and the prompt swap watches its prompt dimension or says in one
    line that it has none."""
    data = _camera_data(tmp_path)
    rubric = {**RUBRIC, "dimensions": [{**RUBRIC["dimensions"][0], "weight": 1}, {**RUBRIC["dimensions"][1], "weight": 0}]}
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(rubric, sort_keys=False))
    base = ["bench", "stability", "--data", data, "--model", tiny_model_dir, "--size", "56", "--videos", "2"]
    refused = run(*base, "--json")  # FingER's rubric has no camera motion: one line, before the model loads
    assert refused.exit_code == 2 and "'camera_motion'" in refused.output and "--rubric" in refused.output
    assert len(refused.output.strip().splitlines()) == 1

    got = run(*base, "--rubric", path, "--json")
    assert got.exit_code == 0, got.output
    report = json.loads(got.stdout)
    assert report["rubric"] == {"name": "camera_test", "sha256": load_rubric(path).sha256}
    assert report["dimensions"] == ["camera_motion", "subject"]
    apart = 0.0  # how far the subject's change is from the camera's (the tiny model's changes are small)
    for name, row in report["reencode"].items():
        dims = row["dimension_max_abs_diff"]
        assert set(dims) == {"camera_motion", "subject"} and row["questions"] == 6, name
        assert row["overall_max_abs_diff"] == pytest.approx(dims["camera_motion"], rel=1e-9), name  # subject: weight 0
        apart = max(apart, abs(dims["subject"] - dims["camera_motion"]) / dims["camera_motion"])
    assert apart > 0.2  # so equal weights would have given another overall change
    swap = report["prompt_swap"]
    assert swap["dimension"] == "subject" and swap["videos"] == 2 and report["prompt_swap_text_alignment_drop"] is None
    assert swap["drop"] == pytest.approx(swap["own_mean"] - swap["swapped_mean"])

    path.write_text(yaml.safe_dump({**rubric, "prompt_questions": {"dimension": None}}, sort_keys=False))
    plain = run(*base, "--rubric", path)
    assert plain.exit_code == 0, plain.output
    note = [line for line in plain.output.splitlines() if "prompt swap" in line]
    assert note == ["the rubric 'camera_test' has no text-alignment dimension (prompt_questions.dimension is null "
                    "and no text_alignment): the prompt swap is not measured"]
    assert "(rubric camera_test)" in " ".join(plain.output.split())  # the table's title, as wrapped
