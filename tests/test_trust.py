"""What a score means: calibration (fit, apply, record, ECE/Brier), stability under re-encoding and prompt
swaps, and graded-severity probes whose planted defects really grow level by level."""
from __future__ import annotations

from collections import defaultdict

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from fingereval.cli import app
from fingereval.measure.calibration_check import before_after, ece, split_videos
from fingereval.score.calibration import Calibration, fit_calibration

runner = CliRunner()


def test_the_fit_recovers_a_known_temperature_and_bias():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 3, 20000)  # the model's log-odds: over-confident by 2, leaning to no by 0.5
    truth = rng.random(z.size) < 1 / (1 + np.exp(-(z / 2 + 0.5)))
    temperature, bias = fit_calibration(1 / (1 + np.exp(-z)), truth)
    assert temperature == pytest.approx(2.0, rel=0.06) and bias == pytest.approx(0.5, abs=0.06)
    rows = [{"video": f"v{i // 4}", "p_yes": float(1 / (1 + np.exp(-x))), "human_answer": "yes" if t else "no"}
            for i, (x, t) in enumerate(zip(z[:4000], truth[:4000]))]
    report = before_after(rows, Calibration(temperature=temperature, bias=bias), n_resamples=50)
    assert report["after"]["ece"] < report["before"]["ece"] / 3 and report["after"]["brier"] < report["before"]["brier"]
    low, high = report["before"]["ece_ci95"]
    assert low <= report["before"]["ece"] <= high


def test_ece_by_hand_and_a_stable_split():
    p = np.array([0.05, 0.05, 0.95, 0.95, 0.5])
    y = np.array([0.0, 1.0, 1.0, 1.0, 0.0])
    # bins: 0.05 (two, half yes: gap 0.45), 0.95 (two, all yes: gap 0.05), 0.5 (one no: gap 0.5)
    assert ece(p, y) == pytest.approx((2 * 0.45 + 2 * 0.05 + 0.5) / 5)
    fit, check = split_videos([f"v{i}" for i in range(10)], 0.3)
    assert len(check) == 3 and not fit & check
    assert (fit, check) == split_videos([f"v{i}" for i in reversed(range(10))], 0.3)


@pytest.fixture(scope="module")
def probes(tmp_path_factory):
    from fingereval.probes import make_probes

    return make_probes(tmp_path_factory.mktemp("probes"), 4, seed=3)


def test_calibrate_then_score_applies_and_records_it(probes, tiny_model_dir, tmp_path):
    out = tmp_path / "cal.json"
    r = runner.invoke(app, ["calibrate", "--data", str(probes.qa_path), "--model", str(tiny_model_dir), "--size", "56",
                            "--out", str(out), "--held-out", "0.5", "--json", "--png", str(tmp_path / "rel.png")])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["fit"]["videos"] == 2 and report["check"]["videos"] == 2
    assert {"ece", "brier", "ece_ci95"} <= set(report["before"]) and (tmp_path / "rel.png").read_bytes()[:4] == b"\x89PNG"
    cal = Calibration.model_validate_json(out.read_text())
    video = str(probes.videos[0])
    base = ["score", video, "--prompt", "a red ball rolls to the left", "--model", str(tiny_model_dir), "--size", "56",
            "--json"]
    raw = json.loads(runner.invoke(app, base).stdout)
    fixed = json.loads(runner.invoke(app, [*base, "--calibration", str(out)]).stdout)
    assert raw.get("calibration") is None and fixed["calibration"]["temperature"] == cal.temperature
    for a, b in zip(raw["questions"], fixed["questions"]):
        assert b["p_yes"] == pytest.approx(cal.apply(a["p_yes"]), abs=1e-9)
    (tmp_path / "bad.json").write_text('{"temperature": -1}')
    bad = runner.invoke(app, [*base, "--calibration", str(tmp_path / "bad.json")])
    assert bad.exit_code == 2 and "calibration file" in bad.output and "temperature" in bad.output

    qa = runner.invoke(app, ["bench", "qa", "--data", str(probes.qa_path), "--model", str(tiny_model_dir), "--size", "56",
                             "--calibration", str(out), "--json"])
    assert qa.exit_code == 0, qa.output
    calib = json.loads(qa.stdout)["calibration"]
    assert calib["before"]["bins"] == 15 and calib["after"]["n"] == calib["before"]["n"] > 0
    assert calib["temperature"] == cal.temperature and calib["reliability_after"]

    (tmp_path / "qa.json").write_text(qa.stdout)  # the report shows the calibration beside the results
    (tmp_path / "results.jsonl").write_text(json.dumps(fixed) + "\n")
    r = runner.invoke(app, ["report", str(tmp_path / "results.jsonl"), "--out", str(tmp_path / "r.html"),
                            "--calibration-report", str(tmp_path / "qa.json")])
    assert r.exit_code == 0, r.output
    page = (tmp_path / "r.html").read_text()
    section = page[page.index('<section id="reliability">'):]
    assert f"ECE {calib['after']['ece']:.3f}" in section and 'src="data:image/png;base64,iVBOR' in section
    bad = runner.invoke(app, ["report", str(tmp_path / "results.jsonl"), "--out", str(tmp_path / "r2.html"),
                              "--calibration-report", str(tmp_path / "results.jsonl")])
    assert bad.exit_code == 2 and "calibration report" in bad.output


def test_reencoding_changes_the_file_not_the_content(probes, tmp_path):
    import av

    from fingereval.measure.stability import VARIANTS, reencode

    src = probes.videos[0]
    for variant in VARIANTS:
        out = reencode(src, tmp_path / f"v.{variant.container}", variant)
        with av.open(str(out)) as c:
            s = c.streams.video[0]
            if variant.fps:
                assert float(s.average_rate) == pytest.approx(variant.fps)
            assert s.width == int(112 * variant.scale) and s.codec_context.name in (variant.codec, "h264", "vp9")
            frames = [f.to_ndarray(format="rgb24") for f in c.decode(s)]
        assert len(frames) == pytest.approx(4.0 * (variant.fps or 8), abs=1)
        assert 20 < float(np.mean(frames[0])) < 120  # the dark probe background and its shapes, not a blank


def test_a_variant_counts_the_videos_it_moved_past_the_tolerance_and_not_those_at_it():
    from fingereval.measure.stability import _variant_row

    cell = {"diffs": [0.0, 0.05, 0.0500001, 0.5], "dims": {}, "flips": 2, "dim_flips": {}, "flips_to_file_answer": 0,
            "questions": 14, "failed": []}
    row = _variant_row(cell)
    assert (row["videos_moved"], row["videos_compared"], row["move_tolerance"]) == (2, 4, 0.05)
    assert row["overall_max_abs_diff"] == 0.5 and row["flip_rate"] == pytest.approx(2 / 14)


def test_a_variant_counts_flips_per_dimension_and_those_that_reach_the_file_answer():
    from types import SimpleNamespace

    from fingereval.data.instruct import InstructRecord
    from fingereval.measure.stability import _count_flips, _variant_row

    def record(dimension, answer):
        return InstructRecord(video="v.mp4", prompt="a red ball", dimension=dimension, question="?", good_answer="yes",
                              answer=answer)

    def result(*p_yes):  # answers as aggregate.question_results reads them: yes from 0.5 up
        return SimpleNamespace(questions=[SimpleNamespace(p_yes=p, answer="yes" if p >= 0.5 else "no") for p in p_yes])

    records = [record("text_alignment", "yes"), record("visual_quality", "yes"), record("visual_quality", "no"),
               record("dynamic_degree", "no"), record("visual_quality", "no")]
    cell = {"diffs": [0.3], "dims": {}, "flips": 0, "dim_flips": {}, "flips_to_file_answer": 0, "questions": 5,
            "failed": []}
    # question 0 yes -> no (away from "yes"), 1 no -> yes (to "yes"), 2 stays yes (0.5 counts as yes), 3 stays no,
    # 4 yes -> no (to "no")
    _count_flips(cell, records, result(0.9, 0.2, 0.8, 0.1, 0.6), result(0.3, 0.7, 0.5, 0.4999, 0.1))
    row = _variant_row(cell)
    assert row["answer_flips"] == 3 and row["flip_rate"] == 0.6
    assert row["flips_per_dimension"] == {"text_alignment": 1, "visual_quality": 2}
    assert row["flips_to_file_answer"] == 2


def test_bench_stability_reports_every_variant(probes, tiny_model_dir):
    r = runner.invoke(app, ["bench", "stability", "--data", str(probes.qa_path), "--model", str(tiny_model_dir),
                            "--size", "56", "--videos", "3", "--json"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["determinism_max_abs_diff"] == 0.0  # direct mode on CPU: bit for bit
    assert len(report["reencode"]) == 6 and all(v["questions"] > 0 and not v["failed"] for v in report["reencode"].values())
    assert report["reencode_max_abs_diff"] == max(v["overall_max_abs_diff"] for v in report["reencode"].values())
    for row in report["reencode"].values():  # every video compared; one moved past 0.05 exactly when the largest did
        assert row["videos_compared"] == 3 and (row["videos_moved"] > 0) == (row["overall_max_abs_diff"] > 0.05)
        assert sum(row["flips_per_dimension"].values()) == row["answer_flips"] >= row["flips_to_file_answer"] >= 0
    assert report["prompt_swap"]["videos"] >= 2 and report["prompt_swap_text_alignment_drop"] is not None
    # the swap asks another video's questions: answers here are bit for bit repeatable (above), so a swap that
    # asked the video's own questions again would read the very same mean
    swap = report["prompt_swap"]
    assert swap["own_mean"] != swap["swapped_mean"]
    assert report["prompt_swap_text_alignment_drop"] == pytest.approx(swap["own_mean"] - swap["swapped_mean"])
    # the drop over the videos drawn as their prompt says (every true text-alignment answer the good one),
    # counted here from the data file
    by_video = defaultdict(list)
    for line in probes.qa_path.read_text().splitlines():
        row = json.loads(line)
        by_video[row["video"]].append(row)
    first = list(by_video.values())[:3]
    expected = [all(r["answer"] == r["good_answer"] for r in rows if r["dimension"] == "text_alignment")
                for rows in first if any(r["dimension"] == "text_alignment" for r in rows)]
    assert swap["matching"]["videos"] == sum(expected) < swap["videos"]


def _decoded(path):
    import av

    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24").astype(float) for f in c.decode(c.streams.video[0])])


@pytest.fixture(scope="module")
def severity_probes(tmp_path_factory):
    from fingereval.probes.graded_defects import make_severity_probes

    root = tmp_path_factory.mktemp("severity")
    return root, *make_severity_probes(root, per_level=1)


def test_severity_probes_plant_a_defect_that_grows(severity_probes):
    tmp_path, qa, levels = severity_probes
    rows = [json.loads(line) for line in qa.read_text().splitlines()]
    meta = {json.loads(line)["video"]: json.loads(line) for line in levels.read_text().splitlines()}
    bad = {v: [] for v in meta}
    for row in rows:
        bad[row["video"]].append(row["answer"] != row["good_answer"])
    for v, m in meta.items():  # the truth follows the plant: clean is good, each planted defect answers bad
        # text alignment: level k breaks k of the prompt's two claims (direction, then presence)
        expected = m["level"] / 2 if m["form"] == "appear" else float(m["magnitude"] == 1.0 if m["form"] == "static"
                                                                       else m["level"] > 0)
        assert np.mean(bad[v]) == expected, (v, m)
    video = lambda form, level: tmp_path / f"videos/{form}-L{level}-00.mp4"  # noqa: E731
    prompts = {row["video"]: row["prompt"] for row in rows}
    # direction broken: the same frames under a prompt that says the other way; presence broken: another shape
    assert np.array_equal(_decoded(video("appear", 0)), _decoded(video("appear", 1)))
    assert prompts["videos/appear-L0-00.mp4"] != prompts["videos/appear-L1-00.mp4"]
    assert np.abs(_decoded(video("appear", 2)) - _decoded(video("appear", 0))).mean() > 5
    sharpness = [np.abs(np.diff(_decoded(video("blur", k)), axis=2)).mean() for k in range(5)]
    assert all(a > b for a, b in zip(sharpness, sharpness[1:]))  # more blur: softer edges
    shown = [(np.abs(_decoded(video("flicker", k)) - 40).max(axis=(1, 2, 3)) > 60).sum() for k in range(5)]
    assert all(a > b for a, b in zip(shown, shown[1:]))  # hidden for longer: fewer frames show the shape
    travel = []
    for k in range(5):
        frames = _decoded(video("static", k)).mean(axis=3)
        xs = [np.average(np.arange(f.shape[1]), weights=np.clip(f - 45, 0, None).sum(axis=0) + 1e-9) for f in frames]
        travel.append(abs(xs[-1] - xs[0]))
    assert all(a > b for a, b in zip(travel, travel[1:])) and travel[-1] < 1.0  # less motion, then none


def test_bench_severity_tabulates_and_plots(tiny_model_dir, tmp_path):
    r = runner.invoke(app, ["bench", "severity", "--model", str(tiny_model_dir), "--out", str(tmp_path), "--per-level", "1",
                            "--json"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert set(report["dimensions"]) == {"visual_quality", "temporal_consistency", "dynamic_degree", "text_alignment",
                                         "factual_consistency"}
    for dim, table in report["dimensions"].items():
        assert [row["level"] for row in table] == list(range(len(table))) and len(table) >= 3
        assert isinstance(report["summary"][dim]["monotonic"], bool)  # the rule itself: the planted-scores test
    assert (tmp_path / "severity.png").read_bytes()[:4] == b"\x89PNG"


# Every question of a severity video answered so that the video's score is PLANTED[form][level]; the verdicts
# follow from these numbers as written, not from the rule under test.
PLANTED = {"blur": [0.9, 0.8, 0.6, 0.4, 0.2],  # falls level by level
           "flicker": [0.9, 0.7, 0.75, 0.5, 0.3],  # climbs back at level 2
           "static": [0.8, 0.8, 0.8 + 5e-5, 0.6, 0.6],  # flat, once up by less than the 1e-4 tie
           "appear": [0.9, 0.6, 0.6 + 3e-4],  # up by three ties at level 2
           "gravity": [0.5] * 5}  # never moves
MONOTONIC = {"visual_quality": True, "temporal_consistency": False, "dynamic_degree": True, "text_alignment": False,
             "factual_consistency": True}
FORM = {"visual_quality": "blur", "temporal_consistency": "flicker", "dynamic_degree": "static",
        "text_alignment": "appear", "factual_consistency": "gravity"}


def test_severity_table_means_detects_and_calls_a_fall_monotonic_only_when_it_never_climbs(severity_probes):
    import re
    from pathlib import Path

    from fingereval.answer.base import Answerer
    from fingereval.data.instruct import load_instruct
    from fingereval.measure.severity_response import severity_table
    from fingereval.schema import RawAnswer
    from fingereval.video import VideoConfig

    class PlantedScores(Answerer):
        name = "planted"
        video_config = VideoConfig(size=56, max_frames=2)

        def answer(self, clip, questions, reason=False):
            form, level = re.match(r"(\w+)-L(\d)-", Path(clip.path).name).groups()
            score = PLANTED[form][int(level)]
            return [RawAnswer(q.id, score if q.good_answer == "yes" else 1 - score) for q in questions]

    _, qa, levels = severity_probes
    report = severity_table(PlantedScores(), load_instruct(qa), levels)
    assert report["failed_videos"] == []
    for dim, form in FORM.items():
        rows = report["dimensions"][dim]
        assert [r["level"] for r in rows] == list(range(len(PLANTED[form])))
        assert [r["dimension_score"] for r in rows] == pytest.approx(PLANTED[form], abs=1e-9)
        assert [r["detection_rate"] for r in rows] == [float(x < 0.5) for x in PLANTED[form]]
        assert report["summary"][dim]["monotonic"] is MONOTONIC[dim], dim
        assert report["summary"][dim]["drop"] == pytest.approx(PLANTED[form][0] - PLANTED[form][-1])
    assert report["all_monotonic"] is False
