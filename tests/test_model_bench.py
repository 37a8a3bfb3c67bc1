"""Benchmarks that run a model (`bench qa`, `bench levels`) and `data reasons`, on probe videos."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from fingereval.cli import app
from fingereval.data.instruct import load_instruct
from fingereval.probes.make import make_probes

runner = CliRunner()


@pytest.fixture(scope="module")
def probes(tmp_path_factory):
    return make_probes(tmp_path_factory.mktemp("probes") / "p", 6, seed=3)


def test_bench_qa_json_reports_accuracy_per_dimension(probes, tiny_model_dir):
    r = runner.invoke(app, ["bench", "qa", "--data", str(probes.qa_path), "--model", str(tiny_model_dir), "--size", "112",
                            "--json"])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    records = load_instruct(probes.qa_path)
    assert rep["n"] == len(records) and 0.0 <= rep["accuracy"] <= 1.0
    assert set(rep["per_dimension"]) == {x.dimension for x in records}
    assert sum(v["n"] for v in rep["per_dimension"].values()) == rep["n"]
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
    for level in ("entity_level", "overall_level"):
        assert -1.0 <= rep[level]["srcc"] <= 1.0 or rep[level]["srcc"] != rep[level]["srcc"]
    per_dim = rep["entity_level_per_dimension"]
    assert "text_alignment" in per_dim and per_dim["text_alignment"]["n"] == 6  # every probe asks an appear question
    assert set(per_dim) <= {"visual_quality", "temporal_consistency", "dynamic_degree", "text_alignment",
                            "factual_consistency"}


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
