"""From scores to people and back (docs/annotate.md, "From scores to people"), on probe clips and the tiny model:
a folder scored with reasons -> `export --to instruct` -> two annotators and an adjudicator label every item through
the annotation app's HTTP API on a real server -> `annotate export` -> `data check`, `bench qa`, `calibrate` and a
`train sft` run on the same videos. The people answer with the probes' planted truth, so every number the tools
give is known beforehand from the results file and that truth."""
from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from annotating import AUTH, annotation_server
from conftest import time_limit
from fingereval.cli import app
from fingereval.data.instruct import group_by_video, load_instruct

runner = CliRunner()
VIDEO = ["--size", "56", "--max-frames", "4"]  # every tool in the chain sees the videos as the scoring did
REASON = ["--reason", "--max-new-tokens", "8"]
EDIT = "The star keeps its sharp edges."


def _ok(args: list[str]):
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    return r


@pytest.fixture(scope="module")
def scored(tiny_model_dir, tmp_path_factory) -> dict:
    """Four probe clips in a folder, scored with reasons on their planted questions (`score DIR --prompts`)."""
    from fingereval.probes import make_probes

    root = tmp_path_factory.mktemp("chain")
    probes = make_probes(root / "probes", 4, seed=5, max_entities=1, radius=0.2)
    questions = root / "questions"  # <file name>.json: the id a folder run gives each video
    questions.mkdir()
    truth = {}
    for video, records in group_by_video(load_instruct(probes.qa_path)).items():
        (questions / f"{Path(video).name}.json").write_text(json.dumps({"prompt": records[0].prompt, "questions": [
            {"id": r.id, "dimension": r.dimension, "entity": r.entity, "text": r.question, "good_answer": r.good_answer}
            for r in records]}), encoding="utf-8")
        truth |= {(Path(video).name, r.question): r.answer for r in records}
    results = root / "run" / "results.jsonl"
    with time_limit(300, "scoring four probe clips"):
        _ok(["score", str(probes.root / "videos"), "--prompts", str(probes.root / "prompts.csv"), "--out", str(results),
             "--questions-dir", str(questions), "--model", str(tiny_model_dir), *VIDEO, *REASON])
    return {"root": root, "probes": probes, "results": results, "truth": truth}


@pytest.fixture(scope="module")
def model_said(scored) -> dict:
    """(video file name, question) -> (the model's answer, its reason), read from the results file itself."""
    said = {}
    for line in scored["results"].read_text(encoding="utf-8").splitlines():
        result = json.loads(line)
        said |= {(Path(result["video"]).name, q["question"]): (q["answer"], q["reason"]) for q in result["questions"]}
    return said


def _verdict(item: dict, answer: str) -> str | None:
    """An annotator accepts the reason written for the answer they gave, and rejects one written for the other."""
    if item["reason"] is None:
        return None
    return "accept" if item["reason_answer"] == answer else "reject"


def test_scores_go_to_people_and_their_labels_to_calibrate_bench_and_sft(scored, model_said, tiny_model_dir):
    root, truth = scored["root"], scored["truth"]
    data = root / "people" / "qa.jsonl"
    r = _ok(["export", str(scored["results"]), "--to", "instruct", "--out", str(data)])
    assert f"wrote {len(truth)} records (4 videos)" in r.stderr
    exported = load_instruct(data)
    assert {(Path(x.video).name, x.question): (x.answer, x.reason) for x in exported} == model_said
    assert {Path(x.video) for x in exported} == {p.absolute() for p in scored["probes"].videos}
    assert all(not Path(line["video"]).is_absolute() for line in map(json.loads, data.read_text().splitlines()))

    db = root / "annotations.sqlite"
    expected = {}
    with time_limit(120, "labelling through the app"), annotation_server(db, data) as (base, _):
        assert httpx.get(f"{base}/api/skipped", headers=AUTH).json() == []  # every video found through its path
        seen = []
        for who in ("ann", "bob"):
            while (r := httpx.get(f"{base}/api/next", params={"annotator": who}, headers=AUTH)).status_code == 200:
                item = r.json()
                key = (Path(item["video"]).name, item["question"])
                assert (item["reason_answer"], item["reason"]) == model_said[key]  # the model's say, to check
                if who == "ann":
                    seen.append(item["item_id"])
                    video = httpx.get(base + item["video_url"], headers=AUTH)
                    assert video.status_code == 200 and video.content[4:8] == b"ftyp"  # the probe clip itself
                answer = truth[key]
                if who == "bob" and item["item_id"] == seen[-1]:
                    answer = "no" if answer == "yes" else "yes"  # bob gets the last item wrong
                verdict, reason = _verdict(item, answer), None
                if who == "bob" and item["item_id"] == seen[0] and item["reason"] is not None:
                    verdict, reason = "edit", EDIT
                label = {"item_id": item["item_id"], "annotator": who, "answer": answer, "reason_verdict": verdict,
                         "reason": reason}
                assert httpx.post(f"{base}/api/labels", headers=AUTH, json=label).status_code == 200
                expected.setdefault(item["item_id"], {})[who] = (answer, verdict, reason, item["reason"], key)
            assert r.status_code == 204, r.text
        (waiting,) = httpx.get(f"{base}/api/disagreements", headers=AUTH).json()
        assert waiting["item"]["item_id"] == seen[-1]
        last_key = expected[seen[-1]]["ann"][4]
        assert httpx.post(f"{base}/api/adjudications", headers=AUTH, json={
            "item_id": seen[-1], "adjudicator": "judge", "answer": truth[last_key], "reason_verdict": None,
            "reason": None}).status_code == 200
    assert sorted(seen) == sorted(x.id for x in exported)

    final = root / "final" / "final.jsonl"
    assert "wrote 16 agreed items" in _ok(["annotate", "export", "--db", str(db), "--out", str(final)]).output
    assert "16 records, 4 videos, 0 bad lines" in _ok(["data", "check", str(final)]).output
    labelled = {(Path(x.video).name, x.question): x for x in load_instruct(final)}
    assert {k: x.answer for k, x in labelled.items()} == truth  # the people's answers, not the model's
    for item_id, by in expected.items():  # the reason rules of docs/annotate.md, applied by hand
        (_, ann_verdict, _, original, key), (_, bob_verdict, bob_edit, _, _) = by["ann"], by["bob"]
        want = bob_edit if bob_verdict == "edit" else None if "reject" in (ann_verdict, bob_verdict) else original
        assert labelled[key].reason == want, item_id
    assert any(x.reason == EDIT for x in labelled.values())
    assert any(x.reason is None for x in labelled.values()) and any(x.reason not in (None, EDIT)
                                                                     for x in labelled.values())
    assert all(Path(x.video).is_file() for x in labelled.values())  # relative to final/, the same clips

    right = [model_said[k][0] == x.answer for k, x in labelled.items()]
    qa = json.loads(_ok(["bench", "qa", "--data", str(final), "--model", str(tiny_model_dir), *VIDEO, *REASON,
                         "--json"]).stdout)
    assert qa["n"] == 16 and qa["failed_videos"] == [] and qa["bootstrap"]["videos"] == 4
    assert qa["accuracy"] == pytest.approx(sum(right) / len(right))  # the model's answers against the people's
    assert 0 < qa["accuracy"] < 1  # people and model disagree on some questions: the labels are not the model's
    per_dim = {}
    for x in labelled.values():
        per_dim[x.dimension] = per_dim.get(x.dimension, 0) + 1
    assert {k: v["n"] for k, v in qa["per_dimension"].items()} == per_dim

    calibration = root / "calibration.json"
    cal = json.loads(_ok(["calibrate", "--data", str(final), "--model", str(tiny_model_dir), *VIDEO, *REASON,
                          "--held-out", "0.5", "--out", str(calibration), "--json"]).stdout)
    assert cal["failed_videos"] == [] and cal["fit"]["videos"] + cal["check"]["videos"] == 4
    assert cal["fit"]["questions"] + cal["check"]["questions"] == 16 and calibration.is_file()

    sft = root / "sft"
    with time_limit(600, "a tiny SFT run"):
        _ok(["train", "sft", "--data", str(final), "--model", str(tiny_model_dir), "--out", str(sft), "--reason",
             "--lora", "--epochs", "1", "--batch-size", "4", *VIDEO, "--log-every", "1"])
    log = json.loads((sft / "train_log.json").read_text())
    assert [e for e in log["log_history"] if "loss" in e]  # it took its step on the four labelled videos
    again = json.loads(_ok(["bench", "qa", "--data", str(final), "--model", str(sft), *VIDEO, "--json"]).stdout)
    assert again["n"] == 16 and again["failed_videos"] == []  # the trained checkpoint answers on the same clips
