"""`fingereval bench ...` and `fit-weights` through typer's CliRunner, end to end on the real
GenAI-Bench pairs file with synthetic scores for its videos."""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from fingereval.dimensions import DIMENSION_KEYS
from fingereval.cli.bench import bench_app, fit_weights, fit_weights_app
from fingereval.score.weights import load_weights

GENAI_PAIRS = Path(__file__).parent / "data" / "genai_bench_video_test_pairs.json"
LEFT_OUT = 6  # videos without a result, so that some pairs cannot be joined
runner = CliRunner()


@pytest.fixture(scope="module")
def genai_results(tmp_path_factory) -> tuple[Path, set[str]]:
    """results.jsonl with seeded random scores for the real pairs' videos, kept in another folder;
    a few videos left out, one failed item and one malformed line."""
    pairs = json.loads(GENAI_PAIRS.read_text())
    videos = sorted({p["video_left"] for p in pairs} | {p["video_right"] for p in pairs})
    rng = np.random.default_rng(0)
    left_out = set(rng.choice(videos, size=LEFT_OUT, replace=False))
    path = tmp_path_factory.mktemp("run") / "results.jsonl"
    with path.open("w") as f:
        for video in videos:
            if video in left_out:
                continue
            dims = dict(zip(DIMENSION_KEYS, rng.random(5).tolist()))
            f.write(json.dumps({"id": video, "video": f"/elsewhere/genai/{video}", "prompt": "p",
                                "overall": float(np.mean(list(dims.values()))), "dimensions": dims,
                                "questions": []}) + "\n")
        f.write(json.dumps({"id": "bad", "video": "/elsewhere/broken.mp4", "prompt": "p",
                            "error": {"type": "VideoError", "message": "no frames"}}) + "\n")
        f.write('{"video": "/elsewhere/truncated.mp4", "prom\n')
    return path, left_out


def _one_json_object(stdout: str) -> dict:
    obj, end = json.JSONDecoder().raw_decode(stdout)
    assert stdout[end:].strip() == "", "stdout must hold exactly one JSON object"
    return obj


def test_bench_pairs_json_on_the_real_genai_bench_file(genai_results):
    results, left_out = genai_results
    run = runner.invoke(bench_app, ["pairs", "--benchmark", "genai-bench", "--pairs", str(GENAI_PAIRS),
                                    "--scores", str(results), "--json", "--resamples", "200"])
    assert run.exit_code == 0, run.stderr
    report = _one_json_object(run.stdout)
    pairs = json.loads(GENAI_PAIRS.read_text())
    expected_unjoined = sum(p["video_left"] in left_out or p["video_right"] in left_out for p in pairs)
    assert expected_unjoined > 0
    assert report["benchmark"] == "genai-bench" and report["n_pairs"] == 1889
    assert report["n_unjoined"] == expected_unjoined and report["n_joined"] == 1889 - expected_unjoined
    assert {v for example in report["unjoined_examples"] for v in example["missing"]} <= left_out
    assert report["human_votes"] == {"first": 619, "second": 651, "tie": 619}
    assert report["results"]["failed_skipped"] == 1 and report["results"]["malformed_skipped"] == 1
    assert report["bootstrap"]["resamples"] == 200
    assert list(report["metrics"]) == ["overall", *DIMENSION_KEYS]
    for target, m in report["metrics"].items():
        assert m["n_pairs"] == report["n_joined"]
        assert m["n_pairs_without_ties"] == sum(p["vote_type"] in ("leftvote", "rightvote") for p in pairs) - sum(
            (p["video_left"] in left_out or p["video_right"] in left_out) and p["vote_type"] in ("leftvote", "rightvote")
            for p in pairs)
        assert set(m["tau"]) == {"value", "low", "high", "eps"} and set(m["diff"]) == {"value", "low", "high"}
        for metric in (m["tau"], m["diff"]):
            assert 0 <= metric["low"] <= metric["value"] <= metric["high"] <= 1
        assert 0.4 < m["diff"]["value"] < 0.6  # random scores: a coin flip on decided pairs


def test_bench_pairs_table(genai_results):
    results, _ = genai_results
    run = runner.invoke(bench_app, ["pairs", "--pairs", str(GENAI_PAIRS), "--scores", str(results),
                                    "--resamples", "50"], env={"COLUMNS": "200"})
    assert run.exit_code == 0, run.stderr
    assert "tau (with ties)" in run.stdout and "text_alignment" in run.stdout
    assert f"{LEFT_OUT}" in run.stdout and "not joined (for example pair" in run.stdout


def test_leaderboard_markdown_with_our_row(genai_results):
    results, _ = genai_results
    run = runner.invoke(bench_app, ["leaderboard", "--benchmark", "genai-bench", "--scores", str(results),
                                    "--pairs", str(GENAI_PAIRS), "--markdown", "--resamples", "50"])
    assert run.exit_code == 0, run.stderr
    assert "**fingereval (this run)**" in run.stdout and "VisionReward paper, arXiv 2412.21059, Table 2" in run.stdout
    assert run.stdout.startswith("Pairwise accuracy on genai-bench")


def test_leaderboard_json_and_table_without_our_row():
    run = runner.invoke(bench_app, ["leaderboard", "--benchmark", "monetbench", "--json"])
    assert run.exit_code == 0
    rows = _one_json_object(run.stdout)["rows"]
    assert rows[0]["model"] == "FingER (paper, estimate)" and rows[0]["kind"] == "derived" and len(rows) == 10
    run = runner.invoke(bench_app, ["leaderboard"], env={"COLUMNS": "200"})
    assert run.exit_code == 0 and "PickScore" in run.stdout


def test_manifest_mode(tmp_path):
    pairs = [{"prompt": "a cat", "video1_path": "gen/x.mp4", "video2_path": "gen/y.mp4", "standard_answer": "tie"}]
    pairs_file = tmp_path / "monet.jsonl"
    pairs_file.write_text("".join(json.dumps(p) + "\n" for p in pairs))
    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / "x.mp4").write_bytes(b"\0")
    out = tmp_path / "manifest.jsonl"
    run = runner.invoke(bench_app, ["pairs", "--benchmark", "monetbench", "--pairs", str(pairs_file),
                                    "--videos", str(tmp_path / "videos"), "--write-manifest", str(out), "--json"])
    assert run.exit_code == 0, run.stderr
    report = _one_json_object(run.stdout)
    assert report["written"] == 1 and report["missing"] == 1 and report["missing_examples"] == ["gen/y.mp4"]
    assert json.loads(out.read_text()) == {"id": "x.mp4", "video": str((tmp_path / "videos" / "x.mp4").resolve()),
                                           "prompt": "a cat"}


def _ratings_and_results(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(4)
    ours = rng.random((30, 5))
    ratings, results = [], []
    for i in range(30):
        human = {k: float(np.clip(round(1 + 3 * ours[i, j] + rng.normal(0, 0.5)), 1, 4)) for j, k in enumerate(DIMENSION_KEYS)}
        ratings.append(json.dumps({"video": f"clips/v{i}.mp4", **human, "overall": 1 + 3 * ours[i, 3]}))
        dims = dict(zip(DIMENSION_KEYS, ours[i].tolist()))
        results.append(json.dumps({"video": f"/run/v{i}.mp4", "prompt": "p", "overall": float(ours[i].mean()),
                                   "dimensions": dims}))
    (tmp_path / "ratings.jsonl").write_text("\n".join(ratings) + "\n")
    (tmp_path / "results.jsonl").write_text("\n".join(results) + "\n")
    return tmp_path / "ratings.jsonl", tmp_path / "results.jsonl"


def test_bench_pointwise_json_and_table(tmp_path):
    ratings, results = _ratings_and_results(tmp_path)
    run = runner.invoke(bench_app, ["pointwise", "--ratings", str(ratings), "--scores", str(results),
                                    "--json", "--resamples", "100"])
    assert run.exit_code == 0, run.stderr
    report = _one_json_object(run.stdout)
    assert report["n_joined"] == 30 and list(report["metrics"]) == ["overall", *DIMENSION_KEYS]
    assert report["join"]["by_name"] == 30 and report["join"]["by_path"] == 0  # clips/v0.mp4 is /run/v0.mp4
    for target, m in report["metrics"].items():
        assert set(m) >= {"n", "srcc", "krcc", "plcc", "plcc_logistic"} and m["n"] == 30
        if target != "overall":  # each human dimension rating follows our score on it
            assert m["srcc"]["value"] > 0.5
    run = runner.invoke(bench_app, ["pointwise", "--ratings", str(ratings), "--scores", str(results),
                                    "--resamples", "50"], env={"COLUMNS": "200"})
    assert run.exit_code == 0 and "SRCC" in run.stdout and "30 videos joined" in run.stdout


def test_bench_pointwise_reports_targets_with_2_or_3_videos_as_undefined_and_goes_on(tmp_path):
    """2 or 3 videos on a dimension used to raise TypeError in the logistic fit (3) or abort the whole
    report in the bootstrap (2); those targets are now null with the reason, the others measured."""
    rng = np.random.default_rng(1)
    ours = rng.random((12, 5))
    ratings, results = [], []
    for i in range(12):
        human = {"overall": 1 + 3 * ours[i].mean(), "visual_quality": 1 + 3 * ours[i, 0],
                 "text_alignment": 1 + 3 * ours[i, 3] if i < 4 else None,  # 4 videos: enough
                 "dynamic_degree": 1 + 3 * ours[i, 2] if i < 3 else None,  # 3 videos
                 "temporal_consistency": 1 + 3 * ours[i, 1] if i < 2 else None}  # 2 videos
        ratings.append(json.dumps({"video": f"v{i}.mp4", **human}))
        results.append(json.dumps({"video": f"/run/v{i}.mp4", "prompt": "p", "overall": float(ours[i].mean()),
                                   "dimensions": dict(zip(DIMENSION_KEYS, ours[i].tolist()))}))
    (tmp_path / "ratings.jsonl").write_text("\n".join(ratings) + "\n")
    (tmp_path / "results.jsonl").write_text("\n".join(results) + "\n")
    args = ["pointwise", "--ratings", str(tmp_path / "ratings.jsonl"), "--scores", str(tmp_path / "results.jsonl"),
            "--resamples", "100"]
    run = runner.invoke(bench_app, [*args, "--json"])
    assert run.exit_code == 0, run.output
    metrics = _one_json_object(run.stdout)["metrics"]
    for target, n in (("dynamic_degree", 3), ("temporal_consistency", 2)):
        m = metrics[target]
        assert m["n"] == n and m["srcc"] is None and m["plcc_logistic"] is None
        assert m["error"].startswith("needs >= 4 videos") and "logistic fit" in m["error"]
    assert metrics["factual_consistency"]["n"] == 0 and metrics["factual_consistency"]["srcc"] is None
    for target, n in (("overall", 12), ("visual_quality", 12), ("text_alignment", 4)):
        assert metrics[target]["n"] == n and "error" not in metrics[target]
        assert metrics[target]["srcc"]["value"] == pytest.approx(1.0)  # humans follow our score exactly
        assert metrics[target]["plcc_logistic"] is not None
    run = runner.invoke(bench_app, args, env={"COLUMNS": "250"})
    assert run.exit_code == 0, run.output
    assert "needs >= 4 videos" in run.stdout and "12 videos joined" in run.stdout


def test_fit_weights_from_ratings_and_from_pairs(tmp_path, genai_results):
    ratings, results = _ratings_and_results(tmp_path)
    out = tmp_path / "weights.json"
    run = runner.invoke(fit_weights_app, ["--ratings", str(ratings), "--scores", str(results), "--out", str(out)])
    assert run.exit_code == 0, run.stderr
    summary = _one_json_object(run.stdout)
    assert summary["n"] == 30 and summary["weights"]["text_alignment"] > 0.9  # human overall = text alignment
    assert load_weights(out) == pytest.approx(summary["weights"])

    genai_scores, _ = genai_results
    run = runner.invoke(fit_weights_app, ["--pairs", str(GENAI_PAIRS), "--scores", str(genai_scores),
                                          "--out", str(tmp_path / "w2.json")])
    assert run.exit_code == 0, run.stderr
    assert sum(load_weights(tmp_path / "w2.json").values()) == pytest.approx(1.0)


def test_commands_mount_on_a_parent_app(genai_results):
    app = typer.Typer()
    app.add_typer(bench_app, name="bench")
    app.command("fit-weights")(fit_weights)
    app.command("version")(lambda: None)  # a second command, as in the real app
    run = runner.invoke(app, ["bench", "leaderboard", "--json"])
    assert run.exit_code == 0 and _one_json_object(run.stdout)["benchmark"] == "genai-bench"
    run = runner.invoke(app, ["fit-weights", "--scores", str(genai_results[0]), "--out", "x.json"])
    assert run.exit_code == 2 and "exactly one of --ratings FILE or --pairs FILE" in run.stderr


@pytest.mark.parametrize("args, message", [
    (["pairs", "--pairs", "/no/such/pairs.json", "--scores", "r.jsonl"], "pairs file /no/such/pairs.json not found"),
    (["pairs", "--pairs", str(GENAI_PAIRS)], "give --scores results.jsonl"),
    (["pairs", "--pairs", str(GENAI_PAIRS), "--write-manifest", "m.jsonl"], "needs both --videos DIR"),
    (["pairs", "--pairs", str(GENAI_PAIRS), "--scores", "/no/such/results.jsonl"], "results file"),
    (["pairs", "--benchmark", "monetbench", "--pairs", str(GENAI_PAIRS), "--scores", "r.jsonl"],
     r"missing field\(s\) 'video1_path'"),
    (["leaderboard", "--scores", "r.jsonl"], "give both --scores"),
    (["pointwise", "--ratings", "/no/ratings.jsonl", "--scores", "r.jsonl"], "ratings file /no/ratings.jsonl not found"),
])
def test_user_errors_are_one_line_on_stderr_with_exit_code_2(args, message):
    run = runner.invoke(bench_app, args)
    assert run.exit_code == 2
    assert run.stdout == ""
    assert run.stderr.startswith("error (DataError): ") and run.stderr.count("\n") == 1
    assert re.search(message, run.stderr)
