"""Benchmark loaders, the results index, joining, manifests, pointwise ratings, weights, leaderboard."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from fingereval.dimensions import DIMENSION_KEYS
from fingereval.errors import DataError
from fingereval.measure.leaderboard import (
    PUBLISHED,
    PUBLISHED_SOURCE,
    leaderboard,
    our_row,
    published_rows,
    render_markdown,
)
from fingereval.measure.join import VideoJoin
from fingereval.measure.metrics import correlations
from fingereval.measure.pairs import Benchmark, evaluate_pairs, join_pairs, load_pairs, write_manifest
from fingereval.measure.pointwise import evaluate_pointwise, load_ratings
from fingereval.measure.results import load_results
from fingereval.cli.bench import render_table
from fingereval.score.weights import load_weights
from fingereval.measure.weight_fit import (
    fit_weights_pointwise,
    fit_weights_preferences,
    logistic_weights,
    nnls_weights,
)

GENAI_PAIRS = Path(__file__).parent / "data" / "genai_bench_video_test_pairs.json"


def result_line(video: str, dims: dict[str, float | None], overall: float | None = None) -> str:
    present = [v for v in dims.values() if v is not None]
    if overall is None and present:
        overall = float(np.mean(present))
    full = {k: dims.get(k) for k in DIMENSION_KEYS}
    return json.dumps({"id": Path(video).name, "video": video, "prompt": "p", "overall": overall,
                       "dimensions": full, "questions": []})


def failed_line(video: str) -> str:
    return json.dumps({"id": "x", "video": video, "prompt": "p",
                       "error": {"type": "VideoError", "message": "no frames"}})


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def same_scores(value: float) -> dict[str, float]:
    return {k: value for k in DIMENSION_KEYS}


# ----------------------------------------------------------------------------------------------
# pairs files


def test_real_genai_bench_file_loads_with_published_counts():
    pairs = load_pairs(GENAI_PAIRS, "genai-bench")
    assert len(pairs) == 1889
    assert Counter(p.vote for p in pairs) == {"leftvote": 619, "rightvote": 651, "tievote": 215, "bothbad_vote": 404}
    assert Counter(p.human for p in pairs) == {1: 619, -1: 651, 0: 619}
    assert pairs[0].first.endswith(".mp4") and pairs[0].prompt == "A polar bear is playing guitar"


def test_monetbench_jsonl_and_json_list(tmp_path):
    records = [
        {"prompt": "a cat", "video1_path": "v/a.mp4", "video2_path": "v/b.mp4", "standard_answer": "video1"},
        {"prompt": "a dog", "video1_path": "v/c.mp4", "video2_path": "v/d.mp4", "standard_answer": " Video2"},
        {"prompt": "a cow", "video1_path": "v/e.mp4", "video2_path": "v/f.mp4", "standard_answer": "tie"},
    ]
    jsonl = write_lines(tmp_path / "m.jsonl", [json.dumps(r) for r in records] + [""])
    as_list = tmp_path / "m.json"
    as_list.write_text(json.dumps(records))
    for path in (jsonl, as_list):
        pairs = load_pairs(path, Benchmark.monetbench)
        assert [p.human for p in pairs] == [1, -1, 0]
        assert [p.id for p in pairs] == ["0", "1", "2"]
        assert (pairs[1].first, pairs[1].second) == ("v/c.mp4", "v/d.mp4")


@pytest.mark.parametrize("content, benchmark, message", [
    ('{"prompt": "x", "video1_path": "a", "standard_answer": "tie"}\n', "monetbench",
     r"line 1: missing field\(s\) 'video2_path'"),
    ('[{"prompt": "x", "video_left": "a", "video_right": "b", "vote_type": "leftvote"},'
     ' {"prompt": "x", "video_left": "a", "video_right": "b", "vote_type": "leftvot"}]', "genai-bench",
     "item 1: vote_type is 'leftvot'; expected one of leftvote, rightvote, tievote, bothbad_vote"),
    ('{"prompt": "x", "video1_path": "a", "video2_path": "b", "standard_answer": "tie"}\n\n{oops\n', "monetbench",
     "line 3: not valid JSON"),
    ('[1, 2]', "genai-bench", "item 0: expected a JSON object, got int"),
    ('[{"a": 1},', "genai-bench", "is not valid JSON"),
    ('', "genai-bench", "holds no records"),
])
def test_malformed_pairs_files_name_the_item(tmp_path, content, benchmark, message):
    path = tmp_path / "pairs.json"
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        load_pairs(path, benchmark)


def test_missing_pairs_file(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_pairs(tmp_path / "none.json", "genai-bench")


# ----------------------------------------------------------------------------------------------
# results


def test_results_skip_failed_and_malformed_lines(tmp_path):
    path = write_lines(tmp_path / "r.jsonl", [
        result_line("/a/one.mp4", same_scores(0.1)),
        failed_line("/a/two.mp4"),
        "{not json",
        json.dumps({"video": "/a/three.mp4"}),  # no prompt
        "",
        result_line("/a/one.mp4", same_scores(0.9)),  # scored again: the last result wins
    ])
    results = load_results(path)
    assert len(results) == 1 and results.n_failed == 1 and results.n_malformed == 2 and results.n_duplicates == 1
    assert results.find("/a/one.mp4").overall == 0.9
    assert results.problems[0].startswith("line 3:") and results.problems[1] == "line 4: missing field 'prompt'"


def test_results_without_scored_videos_is_an_error(tmp_path):
    with pytest.raises(DataError, match=r"no scored videos \(1 failed, 0 malformed"):
        load_results(write_lines(tmp_path / "r.jsonl", [failed_line("a.mp4")]))
    with pytest.raises(DataError, match="not found"):
        load_results(tmp_path / "none.jsonl")


def test_find_by_path_then_by_unique_file_name(tmp_path):
    results = load_results(write_lines(tmp_path / "r.jsonl", [
        result_line("/data/videos/abc.mp4", same_scores(0.1)),
        result_line("/x/dup.mp4", same_scores(0.2)),
        result_line("/y/dup.mp4", same_scores(0.3)),
    ]))
    assert results.find("/data/videos/abc.mp4").overall == pytest.approx(0.1)
    assert results.find("/data/videos/./abc.mp4").overall == pytest.approx(0.1)
    assert results.find("abc.mp4").overall == pytest.approx(0.1)
    assert results.find("C:\\benchmark\\abc.mp4").overall == pytest.approx(0.1)
    assert results.find("dup.mp4") is None  # two results share the name: no guessing
    assert results.find("/y/dup.mp4").overall == pytest.approx(0.3)
    assert results.find("other.mp4") is None


def test_video_join_by_path_then_by_a_name_only_one_video_on_each_side_has():
    known = {f"/r/{v}": v for v in ("a/x.mp4", "b/x.mp4", "y.mp4", "z.mp4", "k.mp4")}
    join = VideoJoin(known, ["/r/a/x.mp4", "c/x.mp4", "y.mp4", "p/z.mp4", "q/z.mp4", "w.mp4", "/r/k.mp4", "k.mp4"])
    assert join.find("/r/a/x.mp4") == "a/x.mp4"  # the full path still joins
    assert join.find("c/x.mp4") is None  # x.mp4 names two results
    assert join.find("y.mp4") == "y.mp4"  # one result, one benchmark video
    assert join.find("p/z.mp4") is None and join.find("q/z.mp4") is None  # two benchmark videos, one result
    assert join.find("w.mp4") is None
    assert join.find("/r/k.mp4") == "k.mp4" and join.find("k.mp4") is None  # k.mp4 would be /r/k.mp4 twice
    assert join.find("y.mp4") == "y.mp4"  # a second lookup of one video counts once
    assert join.summary() == {"videos": 8, "by_path": 2, "by_name": 1, "ambiguous_videos": 4, "ambiguous_names": 3,
                              "ambiguous_examples": ["k.mp4", "x.mp4", "z.mp4"], "not_found": 1}


def test_pairs_and_ratings_do_not_join_a_bare_name_two_benchmark_videos_share(tmp_path):
    """Two benchmark videos named clip.mp4 in different folders used to get the one result named clip.mp4."""
    results = load_results(write_lines(tmp_path / "r.jsonl", [
        result_line(f"/run/{n}.mp4", same_scores(s)) for n, s in (("clip", 0.9), ("b", 0.1), ("c", 0.5))]))
    pairs = load_pairs(_pairs_file(tmp_path, [("gen1/clip.mp4", "b.mp4", "leftvote"),
                                              ("gen2/clip.mp4", "c.mp4", "rightvote"), ("b.mp4", "c.mp4", "tievote")]),
                       "genai-bench")
    joined = join_pairs(pairs, results)
    assert [p.id for p, _, _ in joined.joined] == ["2"]
    assert joined.unjoined_examples() == [{"id": "0", "missing": ["gen1/clip.mp4"]},
                                          {"id": "1", "missing": ["gen2/clip.mp4"]}]
    assert joined.join == {"videos": 4, "by_path": 0, "by_name": 2, "ambiguous_videos": 2, "ambiguous_names": 1,
                           "ambiguous_examples": ["clip.mp4"], "not_found": 0}
    ratings = load_ratings(write_lines(tmp_path / "ratings.jsonl", [
        json.dumps({"video": v, "visual_quality": q}) for v, q in
        (("gen1/clip.mp4", 4), ("gen2/clip.mp4", 1), ("/run/b.mp4", 1), ("c.mp4", 3))]))
    report = evaluate_pointwise(ratings, results, n_resamples=20)
    assert report["n_joined"] == 2 and report["unjoined_examples"] == ["gen1/clip.mp4", "gen2/clip.mp4"]
    assert report["join"] == {"videos": 4, "by_path": 1, "by_name": 1, "ambiguous_videos": 2, "ambiguous_names": 1,
                              "ambiguous_examples": ["clip.mp4"], "not_found": 0}


# ----------------------------------------------------------------------------------------------
# joining and pairwise measurement


def _pairs_file(tmp_path: Path, votes: list[tuple[str, str, str]]) -> Path:
    records = [{"id": i, "prompt": "p", "video_left": a, "video_right": b, "vote_type": v}
               for i, (a, b, v) in enumerate(votes)]
    path = tmp_path / "pairs.json"
    path.write_text(json.dumps(records))
    return path


def test_join_reports_unjoined_pairs_with_their_missing_videos(tmp_path):
    pairs = load_pairs(_pairs_file(tmp_path, [("a.mp4", "b.mp4", "leftvote"), ("a.mp4", "c.mp4", "tievote"),
                                              ("d.mp4", "e.mp4", "rightvote")]), "genai-bench")
    results = load_results(write_lines(tmp_path / "r.jsonl", [
        result_line(f"/v/{n}.mp4", same_scores(0.5)) for n in "ab"]))
    joined = join_pairs(pairs, results)
    assert len(joined.joined) == 1
    assert joined.unjoined_examples() == [{"id": "1", "missing": ["c.mp4"]},
                                          {"id": "2", "missing": ["d.mp4", "e.mp4"]}]


def test_evaluate_pairs_perfect_agreement_and_missing_dimensions(tmp_path):
    # scores follow the votes exactly; ties get equal overall scores
    votes = [("a", "b", "leftvote"), ("c", "d", "rightvote"), ("e", "f", "tievote"), ("g", "h", "bothbad_vote"),
             ("i", "j", "leftvote")]
    pairs = load_pairs(_pairs_file(tmp_path, [(f"{a}.mp4", f"{b}.mp4", v) for a, b, v in votes]), "genai-bench")
    score = {"a": 0.9, "b": 0.2, "c": 0.1, "d": 0.8, "e": 0.5, "f": 0.5, "g": 0.3, "h": 0.3, "i": 0.7, "j": 0.6}
    lines = []
    for name, s in score.items():
        dims = same_scores(s) | {"factual_consistency": None}  # never asked about
        if name == "a":
            dims["dynamic_degree"] = None  # not asked for this one video
        lines.append(result_line(f"/scored/{name}.mp4", dims, overall=s))
    report = evaluate_pairs(pairs, load_results(write_lines(tmp_path / "r.jsonl", lines)), n_resamples=50)
    overall = report["metrics"]["overall"]
    assert overall["tau"]["value"] == 1.0 and overall["diff"]["value"] == 1.0 and overall["tau"]["eps"] == 0.0
    assert overall["n_pairs"] == 5 and overall["n_pairs_without_ties"] == 3
    assert report["metrics"]["dynamic_degree"]["n_pairs"] == 4
    assert report["metrics"]["factual_consistency"] == {"n_pairs": 0, "n_pairs_without_ties": 0,
                                                        "tau": None, "diff": None}
    assert report["n_unjoined"] == 0 and report["human_votes"] == {"first": 2, "second": 1, "tie": 2}
    assert report["bootstrap"] == {"resamples": 50, "confidence": 0.95, "seed": 0, "unit": "pair",
                                   "videos_in_several_pairs": 0}
    assert report["join"] == {
        "videos": 10, "by_path": 0, "by_name": 10, "ambiguous_videos": 0, "ambiguous_names": 0,
        "ambiguous_examples": [], "not_found": 0}


def test_evaluate_pairs_with_nothing_joined_says_so(tmp_path):
    pairs = load_pairs(_pairs_file(tmp_path, [("a.mp4", "b.mp4", "leftvote")]), "genai-bench")
    results = load_results(write_lines(tmp_path / "r.jsonl", [result_line("z.mp4", same_scores(0.5))]))
    with pytest.raises(DataError, match="none of the 1 pairs has both videos"):
        evaluate_pairs(pairs, results)


# ----------------------------------------------------------------------------------------------
# manifest


def test_write_manifest_finds_videos_in_sub_folders(tmp_path):
    pairs = load_pairs(_pairs_file(tmp_path, [
        ("a.mp4", "b.mp4", "leftvote"), ("clips/c.mp4", "gone.mp4", "tievote"), ("twice.mp4", "a.mp4", "leftvote")]),
        "genai-bench")
    videos = tmp_path / "videos"
    for rel in ("a.mp4", "sub/b.mp4", "clips/c.mp4", "x/twice.mp4", "y/twice.mp4"):
        (videos / rel).parent.mkdir(parents=True, exist_ok=True)
        (videos / rel).write_bytes(b"\0")
    out = tmp_path / "out" / "manifest.jsonl"
    report = write_manifest(pairs, videos, out)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a.mp4", "b.mp4", "c.mp4"]
    assert rows[1]["video"] == str((videos / "sub/b.mp4").resolve()) and rows[1]["prompt"] == "p"
    assert all(Path(r["video"]).is_absolute() for r in rows)
    assert report == {"manifest": str(out), "videos": 5, "written": 3, "missing": 2,
                      "missing_examples": ["gone.mp4", "twice.mp4"], "prompt_conflicts": 0}


def test_write_manifest_needs_a_folder(tmp_path):
    pairs = load_pairs(_pairs_file(tmp_path, [("a.mp4", "b.mp4", "leftvote")]), "genai-bench")
    with pytest.raises(DataError, match="does not exist"):
        write_manifest(pairs, tmp_path / "nope", tmp_path / "m.jsonl")


# ----------------------------------------------------------------------------------------------
# pointwise ratings


def test_load_ratings_reads_aliases_nulls_and_text_fields(tmp_path):
    path = write_lines(tmp_path / "ratings.jsonl", [
        json.dumps({"video": "a.mp4", "VQ": 3, "text_alignment": None, "overall": 2.5, "caption": "a cat"}),
        json.dumps({"id": 7, "video": "b.mp4", "temporal consistency": 4}),
    ])
    ratings = load_ratings(path)
    assert ratings[0].scores == {"visual_quality": 3.0, "overall": 2.5}
    assert ratings[1].scores == {"temporal_consistency": 4.0}


@pytest.mark.parametrize("line, message", [
    ({"video": "a.mp4", "colour": 3}, "line 1: 'colour' is not a dimension"),
    ({"video": "a.mp4", "visual_quality": "high"}, "line 1: visual_quality must be a number or null"),
    ({"video": "a.mp4", "vq": 2, "visual_quality": 3}, "visual_quality is given twice"),
    ({"visual_quality": 3}, r"line 1: missing field\(s\) 'video'"),
    ({"video": "a.mp4", "caption": "x"}, "line 1: no scores"),
])
def test_malformed_ratings(tmp_path, line, message):
    with pytest.raises(DataError, match=message):
        load_ratings(write_lines(tmp_path / "ratings.jsonl", [json.dumps(line)]))


def _ratings_world(tmp_path: Path, n: int = 40, seed: int = 0) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    """Ratings and results for n videos; human ratings depend on our scores with known weights."""
    rng = np.random.default_rng(seed)
    ours = rng.random((n, 5))
    true_weights = np.array([0.5, 0.0, 0.0, 0.3, 0.2])
    human_overall = 1 + 3 * ours @ true_weights + rng.normal(0, 0.02, n)
    human_dims = np.clip(np.round(1 + 3 * ours + rng.normal(0, 0.3, (n, 5))), 1, 4)
    human_dims[:, 2] = 3  # humans gave every video the same dynamic degree rating
    ratings = [json.dumps({"video": f"v{i}.mp4", **dict(zip(DIMENSION_KEYS, human_dims[i])),
                           "overall": human_overall[i]}) for i in range(n)]
    ratings.append(json.dumps({"video": "unscored.mp4", "visual_quality": 2}))
    results = [result_line(f"/run/v{i}.mp4", dict(zip(DIMENSION_KEYS, ours[i]))) for i in range(n)]
    return (write_lines(tmp_path / "ratings.jsonl", ratings), write_lines(tmp_path / "r.jsonl", results),
            human_dims, ours)


def test_evaluate_pointwise_matches_direct_correlations(tmp_path):
    ratings_path, results_path, human_dims, ours = _ratings_world(tmp_path)
    report = evaluate_pointwise(load_ratings(ratings_path), load_results(results_path), n_resamples=100)
    assert report["n_joined"] == 40 and report["n_unjoined"] == 1 and report["unjoined_examples"] == ["unscored.mp4"]
    vq = report["metrics"]["visual_quality"]
    direct = correlations(human_dims[:, 0], ours[:, 0])
    assert vq["n"] == 40 and vq["srcc"]["value"] == pytest.approx(direct.srcc)
    assert vq["krcc"]["value"] == pytest.approx(direct.krcc) and vq["plcc"]["value"] == pytest.approx(direct.plcc)
    assert vq["srcc"]["low"] <= vq["srcc"]["value"] <= vq["srcc"]["high"]
    assert vq["plcc_logistic"] == pytest.approx(direct.plcc_logistic)
    assert "all equal" in report["metrics"]["dynamic_degree"]["error"]
    assert report["metrics"]["overall"]["n"] == 40


# ----------------------------------------------------------------------------------------------
# weights


def test_nnls_recovers_weights_despite_intercept_and_scale():
    rng = np.random.default_rng(0)
    scores = rng.random((200, 5))
    human = 1 + 3 * scores @ np.array([0.5, 0.0, 0.0, 0.3, 0.2]) + rng.normal(0, 0.01, 200)
    raw = nnls_weights(human, scores)
    assert raw / raw.sum() == pytest.approx([0.5, 0.0, 0.0, 0.3, 0.2], abs=0.02)


def test_logistic_weights_are_non_negative_and_follow_the_preferences():
    rng = np.random.default_rng(1)
    differences = rng.normal(0, 1, (3000, 5))
    true = np.array([0.6, 0.4, 0.0, 0.0, 0.0])
    logits = 6 * differences @ true - 2 * differences[:, 2]  # dimension 2 hurts: its weight must clip to 0
    human = np.where(rng.random(3000) < 1 / (1 + np.exp(-logits)), 1.0, -1.0)
    w = logistic_weights(human, differences)
    assert np.all(w >= 0) and w[2] == pytest.approx(0.0, abs=1e-6)
    assert w[:2] / w[:2].sum() == pytest.approx([0.6, 0.4], abs=0.05)


def test_fit_weights_pointwise_end_to_end(tmp_path):
    ratings_path, results_path, _, _ = _ratings_world(tmp_path, n=60)
    fitted = fit_weights_pointwise(load_ratings(ratings_path), load_results(results_path), fitted_on="ratings r")
    assert fitted.n == 60 and sum(fitted.weights.values()) == pytest.approx(1.0)
    assert list(fitted.weights.values()) == pytest.approx([0.5, 0.0, 0.0, 0.3, 0.2], abs=0.03)
    fitted.save(tmp_path / "w.json")
    assert load_weights(tmp_path / "w.json") == pytest.approx(fitted.weights)
    saved = json.loads((tmp_path / "w.json").read_text())
    assert set(saved) >= {"weights", "fitted_on", "n"} and saved["fitted_on"] == "ratings r"


def test_fit_weights_preferences_end_to_end(tmp_path):
    rng = np.random.default_rng(3)
    n_videos = 400
    ours = rng.random((n_videos, 5))
    quality = ours @ np.array([0.0, 0.0, 0.2, 0.8, 0.0])
    votes, lines = [], [result_line(f"/run/v{i}.mp4", dict(zip(DIMENSION_KEYS, ours[i]))) for i in range(n_videos)]
    for i in range(0, n_videos, 2):
        margin = quality[i] - quality[i + 1]
        vote = "tievote" if abs(margin) < 0.02 else ("leftvote" if margin > 0 else "rightvote")
        votes.append((f"v{i}.mp4", f"v{i + 1}.mp4", vote))
    pairs = load_pairs(_pairs_file(tmp_path, votes), "genai-bench")
    fitted = fit_weights_preferences(pairs, load_results(write_lines(tmp_path / "r.jsonl", lines)), fitted_on="pairs")
    assert fitted.n == sum(p.human != 0 for p in pairs)  # ties dropped
    assert fitted.weights["text_alignment"] > 0.6 and fitted.weights["dynamic_degree"] > 0.1
    assert sum(fitted.weights.values()) == pytest.approx(1.0)


def test_fit_weights_needs_overall_ratings(tmp_path):
    ratings = write_lines(tmp_path / "ratings.jsonl", [json.dumps({"video": "v.mp4", "visual_quality": 2})])
    results = write_lines(tmp_path / "r.jsonl", [result_line("v.mp4", same_scores(0.3))])
    with pytest.raises(DataError, match="add `overall`"):
        fit_weights_pointwise(load_ratings(ratings), load_results(results), fitted_on="x")


def test_load_weights_accepts_a_bare_mapping_and_normalises(tmp_path):
    path = tmp_path / "w.json"
    path.write_text(json.dumps({"VQ": 2, "text alignment": 2}))
    assert load_weights(path) == {"visual_quality": 0.5, "temporal_consistency": 0.0, "dynamic_degree": 0.0,
                                  "text_alignment": 0.5, "factual_consistency": 0.0}


@pytest.mark.parametrize("content, message", [
    (json.dumps({"weights": {"colour": 1}}), "unknown dimension 'colour'"),
    (json.dumps({"visual_quality": -0.1, "text_alignment": 1}), "negative"),
    (json.dumps({"visual_quality": 0, "text_alignment": 0}), "every weight is zero"),
    (json.dumps({"visual_quality": "1"}), "must be a finite number"),
    (json.dumps({"vq": 1, "visual_quality": 1}), "given twice"),
    (json.dumps([1, 2]), "expected"),
    ("{", "not valid JSON"),
])
def test_load_weights_errors(tmp_path, content, message):
    path = tmp_path / "w.json"
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        load_weights(path)
    with pytest.raises(DataError, match="not found"):
        load_weights(tmp_path / "none.json")


# ----------------------------------------------------------------------------------------------
# leaderboard


def test_published_rows_carry_their_source_and_finger_is_derived():
    for bench in Benchmark:
        rows = published_rows(bench)
        published = [r for r in rows if r.kind == "published"]
        assert len(published) == len(PUBLISHED) == 9
        assert all(r.source == PUBLISHED_SOURCE for r in published)
        (derived,) = [r for r in rows if r.kind == "derived"]
        assert "not published" in derived.source and "2504.10358" in derived.source
    genai = {r.model: r for r in published_rows("genai-bench")}
    monet = {r.model: r for r in published_rows("monetbench")}
    assert (genai["VisionReward"].tau, genai["VisionReward"].diff) == (51.8, 74.4)
    assert (monet["PickScore"].tau, monet["PickScore"].diff) == (57.7, 61.6)
    finger = "FingER (paper, estimate)"
    assert (genai[finger].tau, genai[finger].diff) == (57.9, 83.2)  # REFERENCE: about 57.9 / 83.2
    assert (monet[finger].tau, monet[finger].diff) == (67.5, 76.1)  # and 67.5 / 76.1


def _report(tau: float, diff: float) -> dict:
    return {"n_pairs": 1889, "n_joined": 1880, "bootstrap": {"confidence": 0.95, "resamples": 200},
            "metrics": {"overall": {"n_pairs": 1880, "tau": {"value": tau, "low": tau - 0.02, "high": tau + 0.02},
                                    "diff": {"value": diff, "low": diff - 0.03, "high": diff + 0.03}}}}


def test_leaderboard_inserts_our_row_in_order_and_renders():
    ours = our_row(_report(0.55, 0.80))
    assert (ours.tau, ours.diff, ours.tau_ci, ours.diff_ci) == (55.0, 80.0, (53.0, 57.0), (77.0, 83.0))
    rows = leaderboard("genai-bench", [ours])
    models = [r.model for r in rows]
    assert models.index("FingER (paper, estimate)") < models.index(ours.model) < models.index("PickScore")
    markdown = render_markdown(rows, "genai-bench")
    assert "| **fingereval (this run)** | 55.0 [53.0, 57.0] | 80.0 [77.0, 83.0] |" in markdown
    assert "| PickScore | 52.4 | 75.4 | VisionReward paper, arXiv 2412.21059, Table 2 |" in markdown
    assert markdown.count("\n| ") == 2 + 11  # header, rule, 9 published + derived + ours
    console = Console(record=True, width=200)
    console.print(render_table(rows, "genai-bench"))
    text = console.export_text()
    assert "VisionReward" in text and "55.0 [53.0, 57.0]" in text and "not published" in text
