"""Benchmarks that run a model (`bench qa`, `bench levels`) and `data reasons`, on probe videos."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from fingereval.answer.base import Answerer
from fingereval.schema import RawAnswer
from fingereval.cli import app
from fingereval.data.instruct import group_by_video, load_instruct
from fingereval.measure.metrics import bootstrap_ci
from fingereval.measure.model_bench import evaluate_levels, evaluate_qa
from fingereval.probes.make import make_probes
from fingereval.video import VideoConfig

runner = CliRunner()


class PlantedAnswerer(Answerer):
    """An answerer that reads a rigged answers file ({video file name: {question id: p_yes}}), so a test
    knows every answer, and with it the accuracy and the SRCC, by construction. Videos are still decoded."""

    name = "planted"
    video_config = VideoConfig(fps=2.0, max_frames=8, size=112)

    def __init__(self, answers_file: Path):
        self.planted = json.loads(answers_file.read_text())

    def answer(self, clip, questions, reason=False):
        mine = self.planted[Path(clip.path).name]
        return [RawAnswer(question_id=q.id, p_yes=mine[q.id]) for q in questions]


def _planted(tmp_path: Path, answers: dict[str, dict[str, float]]) -> PlantedAnswerer:
    path = tmp_path / "answers.json"
    path.write_text(json.dumps(answers))
    return PlantedAnswerer(path)


def _p_yes(record, right: bool) -> float:
    """A p_yes whose answer matches the human answer when `right`, and contradicts it otherwise."""
    return 0.9 if (record.answer == "yes") == right else 0.1


@pytest.fixture(scope="module")
def probes(tmp_path_factory):
    return make_probes(tmp_path_factory.mktemp("probes") / "p", 6, seed=3)


def test_bench_qa_json_reports_accuracy_per_dimension(probes, tiny_model_dir):
    r = runner.invoke(app, ["bench", "qa", "--data", str(probes.qa_path), "--model", str(tiny_model_dir), "--size", "112",
                            "--json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    records = load_instruct(probes.qa_path)
    assert rep["n"] == len(records)
    assert {k: v["n"] for k, v in rep["per_dimension"].items()} == Counter(x.dimension for x in records)
    hits = {k: v["accuracy"] * v["n"] for k, v in rep["per_dimension"].items()}
    assert all(h == pytest.approx(round(h)) for h in hits.values())  # a share of whole questions
    assert rep["accuracy"] == pytest.approx(sum(hits.values()) / rep["n"])
    assert rep["bootstrap"] == {"unit": "video", "videos": 6, "resamples": 1000, "seed": 0}
    assert rep["ci95"][0] <= rep["accuracy"] <= rep["ci95"][1]
    # the accuracy is what the model said: an always-yes baseline is reported beside it
    assert rep["always_yes_accuracy"] == pytest.approx(sum(x.answer == "yes" for x in records) / len(records))


def test_bench_qa_reports_unreadable_videos_and_goes_on(probes, tiny_model_dir, tmp_path):
    lines = probes.qa_path.read_text().splitlines()
    broken = json.loads(lines[0]) | {"video": str(tmp_path / "gone.mp4")}
    data = tmp_path / "qa.jsonl"
    data.write_text("\n".join([json.dumps(broken)] + [json.dumps(json.loads(x) | {"video": str(probes.root / json.loads(x)["video"])}) for x in lines[1:]]) + "\n")
    r = runner.invoke(app, ["bench", "qa", "--data", str(data), "--model", str(tiny_model_dir), "--size", "112", "--json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["n"] == len(lines) - 1 and any("gone.mp4" in f for f in rep["failed_videos"])


def test_bench_levels_compares_entity_and_overall_level(probes, tiny_model_dir):
    r = runner.invoke(app, ["bench", "levels", "--probes", str(probes.root), "--model", str(tiny_model_dir),
                            "--size", "112", "--resamples", "50", "--json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    assert rep["n_videos"] == 6
    # the probe ratings name videos/p0000.mp4, qa.jsonl an absolute path: joined by file name
    assert rep["join"]["by_name"] == 6 and rep["join"]["ambiguous_names"] == 0
    assert rep["bootstrap"] == {"unit": "video", "resamples": 50, "seed": 0}
    per_dim = rep["entity_level_per_dimension"]
    assert "text_alignment" in per_dim and per_dim["text_alignment"]["n"] == 6  # every probe asks an appear question
    assert set(per_dim) <= {"visual_quality", "temporal_consistency", "dynamic_degree", "text_alignment",
                            "factual_consistency"}


def test_bench_qa_accuracy_is_what_was_planted(probes, tmp_path):
    """Videos 0-2 answered right throughout, videos 3-5 wrong throughout."""
    groups = list(group_by_video(load_instruct(probes.qa_path)).values())
    right = [i < 3 for i in range(len(groups))]
    answers = {Path(recs[0].video).name: {r.id: _p_yes(r, ok) for r in recs} for recs, ok in zip(groups, right)}
    records = [r for recs in groups for r in recs]
    report = evaluate_qa(_planted(tmp_path, answers), records, n_resamples=500)
    n_right = sum(len(recs) for recs, ok in zip(groups, right) if ok)
    assert report["n"] == len(records) and report["accuracy"] == pytest.approx(n_right / len(records))
    for dim, v in report["per_dimension"].items():
        asked = [ok for recs, ok in zip(groups, right) for r in recs if r.dimension == dim]
        assert v == {"accuracy": pytest.approx(sum(asked) / len(asked)), "n": len(asked)}
    assert report["always_yes_accuracy"] == pytest.approx(sum(r.answer == "yes" for r in records) / len(records))
    # whole videos right or wrong: resampling videos must give a wider interval than resampling questions
    hits = np.array([ok for recs, ok in zip(groups, right) for _ in recs], dtype=float)
    by_question = bootstrap_ci(np.mean, hits, n_resamples=500)
    low, high = report["ci95"]
    assert low <= report["accuracy"] <= high and high - low > 1.5 * (by_question.high - by_question.low)


def test_bench_qa_interval_resamples_videos_not_questions(probes, tmp_path):
    """Every video gets one of its first two questions right: any draw of videos scores exactly 1/2, so
    the interval is [0.5, 0.5]. Resampling the 12 questions would spread it over about [0.25, 0.75]."""
    groups = list(group_by_video(load_instruct(probes.qa_path)).values())
    assert all(len(recs) >= 2 for recs in groups)
    answers = {Path(recs[0].video).name: {recs[0].id: _p_yes(recs[0], True), recs[1].id: _p_yes(recs[1], False)}
               for recs in groups}
    report = evaluate_qa(_planted(tmp_path, answers), [r for recs in groups for r in recs[:2]], n_resamples=200)
    assert report["accuracy"] == 0.5 and report["n"] == 12
    assert report["ci95"] == [0.5, 0.5]


def test_bench_levels_srcc_is_what_was_planted_and_an_ambiguous_name_is_not_joined(probes, tmp_path):
    """Every question of video i scores s_i, rising with its rating r_i; the overall question falls with it.
    So entity-level SRCC is 1, overall-level -1, per dimension 1. A second ratings line with video 0's
    file name in another folder makes that name ambiguous: video 0 is left out, not given either rating."""
    records = load_instruct(probes.qa_path)
    groups = list(group_by_video(records).values())
    answers, ratings = {}, []
    for i, recs in enumerate(groups):
        name, s = Path(recs[0].video).name, 0.2 + 0.1 * i
        answers[name] = {r.id: (s if r.good_answer == "yes" else 1 - s) for r in recs} | {"overall": 1 - s}
        rating = 1.0 + 0.5 * i
        ratings.append({"video": f"videos/{name}", "overall": rating,
                        **{dim: rating for dim in {r.dimension for r in recs}}})
    ratings.append(ratings[0] | {"video": f"other/{Path(groups[0][0].video).name}", "overall": 9.0})
    ratings_path = tmp_path / "ratings.jsonl"
    ratings_path.write_text("".join(json.dumps(r) + "\n" for r in ratings))
    report = evaluate_levels(_planted(tmp_path, answers), records, ratings_path, n_resamples=100)
    assert report["n_videos"] == len(groups) - 1
    assert report["join"] == {"videos": len(groups), "by_path": 0, "by_name": len(groups) - 1, "ambiguous_videos": 1,
                              "ambiguous_names": 1, "ambiguous_examples": [Path(groups[0][0].video).name],
                              "not_found": 0}
    assert report["entity_level"] == {"srcc": pytest.approx(1.0), "ci95": [pytest.approx(1.0)] * 2}
    assert report["overall_level"] == {"srcc": pytest.approx(-1.0), "ci95": [pytest.approx(-1.0)] * 2}
    asked = Counter(dim for recs in groups[1:] for dim in {r.dimension for r in recs})
    assert {k: v["n"] for k, v in report["entity_level_per_dimension"].items()} == {
        k: n for k, n in asked.items() if n >= 3}
    assert all(v["srcc"] == pytest.approx(1.0) for v in report["entity_level_per_dimension"].values())


def test_data_reasons_writes_a_reason_for_every_record(probes, tiny_model_dir, tmp_path):
    records = load_instruct(probes.qa_path)[:5]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r.model_dump() | {"reason": None}) + "\n" for r in records))
    out = tmp_path / "out.jsonl"
    r = runner.invoke(app, ["data", "reasons", "--data", str(src), "--model", str(tiny_model_dir), "--out", str(out),
                            "--size", "112", "--max-new-tokens", "6"])
    assert r.exit_code == 0, r.output
    written = load_instruct(out)
    assert len(written) == 5 and all(isinstance(x.reason, str) for x in written)
    assert [x.answer for x in written] == [x.answer for x in records]  # the human answers are kept
