"""The annotation app on a real uvicorn server: its API, the token, Range requests, agreement, export and the CLI."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from annotating import AUTH, TOKEN, annotation_server, jsonl_rows, make_dataset
from conftest import time_limit
from fingereval.annotate.agreement import Label, cohen_kappa
from fingereval.annotate.store import open_store, read_items
from fingereval.errors import DataError


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("annotate") / "set")


def post(base, item_id, annotator, answer, verdict=None, reason=None, headers=AUTH):
    return httpx.post(f"{base}/api/labels", headers=headers, json={
        "item_id": item_id, "annotator": annotator, "answer": answer, "reason_verdict": verdict, "reason": reason})


def label_all(base, annotator, answers: dict[str, tuple]) -> list[str]:
    """Label whatever /api/next gives until 204, answering from `answers`; returns the item ids in order."""
    seen = []
    while True:
        r = httpx.get(f"{base}/api/next", params={"annotator": annotator}, headers=AUTH)
        if r.status_code == 204:
            return seen
        assert r.status_code == 200, r.text
        item = r.json()
        seen.append(item["item_id"])
        assert post(base, item["item_id"], annotator, *answers[item["item_id"]]).status_code == 200


# ---- the input file ----

def test_a_line_without_a_video_is_refused_with_its_line_number(tmp_path):
    path = tmp_path / "qa.jsonl"
    good = {"video": "a.mp4", "prompt": "p", "dimension": "visual_quality", "question": "Q?", "good_answer": "yes"}
    bad = {k: v for k, v in good.items() if k != "video"} | {"question": "other?"}
    path.write_text(json.dumps(good) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(DataError, match=r"line 2: missing field 'video'.*nothing was loaded"):
        read_items(path)


def test_a_repeated_item_is_refused_and_a_file_without_answers_is_read(tmp_path):
    path = tmp_path / "qa.jsonl"
    row = {"video": "a.mp4", "prompt": "p", "dimension": "vq", "question": "Q?", "good_answer": "yes"}
    path.write_text(json.dumps(row) + "\n")
    (record,) = read_items(path)
    assert record.answer is None and record.dimension == "visual_quality"
    assert Path(record.video) == tmp_path / "a.mp4" and record.id.startswith("a-")
    path.write_text(json.dumps(row) + "\n" + json.dumps(row) + "\n")
    with pytest.raises(DataError, match="line 2: item .* repeats line 1"):
        read_items(path)


def test_an_item_whose_video_will_not_play_is_marked_and_skipped(data, tmp_path):
    store, skipped = open_store(tmp_path / "a.sqlite", data)
    assert [item.item_id for item in skipped] == ["q4"]
    assert "broken.mp4" in skipped[0].note and "skipped" in skipped[0].note
    assert store.progress("ann", 2) == {"done": 0, "left": 4, "total": 5, "skipped": 1}
    with pytest.raises(ValueError, match="is skipped"):
        store.add_label(Label("q4", "ann", "yes"))
    # a second start on the same db adds nothing and probes nothing again
    again, skipped_again = open_store(tmp_path / "a.sqlite", data)
    assert len(again.items()) == 5 and skipped_again == []


# ---- the API ----

def test_everything_needs_the_token(data, tmp_path):
    with time_limit(60, "annotation server"), annotation_server(tmp_path / "t.sqlite", data) as (base, _):
        for path in ("/api/next?annotator=a", "/api/agreement", "/api/export", "/api/videos/q0", "/api/disagreements",
                     "/", "/adjudicate", "/docs", "/openapi.json"):
            r = httpx.get(base + path)
            assert r.status_code == 401, path
            wrong = httpx.get(base + path, headers={"Authorization": "Bearer nope"})
            assert wrong.status_code == 401, path
        assert post(base, "q0", "ann", "yes", headers={}).status_code == 401
        assert "password" in httpx.get(base + "/").text  # a page answers 401 with the login form
        assert httpx.get(base + "/api/agreement", headers=AUTH).status_code == 200
        assert httpx.get(base + "/", headers=AUTH).status_code == 200


def test_the_login_form_sets_an_httponly_cookie(data, tmp_path):
    with annotation_server(tmp_path / "c.sqlite", data) as (base, _):
        wrong = httpx.post(base + "/login", data={"token": "nope", "next": "/"})
        assert wrong.status_code == 401 and "not one this app knows" in wrong.text
        r = httpx.post(base + "/login", data={"token": TOKEN, "next": "https://elsewhere.example/"})
        assert r.status_code == 303 and r.headers["location"] == "/"  # never a redirect off the app
        cookie = r.headers["set-cookie"]
        assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower() and TOKEN not in cookie
        with httpx.Client(base_url=base, cookies=r.cookies) as client:
            assert client.get("/api/next", params={"annotator": "ann"}).status_code == 200
            assert client.get("/").status_code == 200


def test_next_label_resume_and_204(data, tmp_path):
    db = tmp_path / "n.sqlite"
    with annotation_server(db, data) as (base, _):
        r = httpx.get(f"{base}/api/next", params={"annotator": "ann"}, headers=AUTH)
        assert r.status_code == 200
        item = r.json()
        assert {"item_id", "video", "video_url", "prompt", "question", "dimension", "entity", "reason"} <= item.keys()
        assert item == item | {"item_id": "q0", "video": "red.mp4", "video_url": "/api/videos/q0",
                               "question": "Does the red square move?", "dimension": "dynamic_degree",
                               "entity": "red square", "reason": "The square slides to the right.", "fps": 8.0}
        r = post(base, "q0", "ann", "yes", "accept")
        assert r.status_code == 200 and r.json()["progress"] == {"done": 1, "left": 3, "total": 5, "skipped": 1}
    # a new server on the same db: ann goes on where she left off
    with annotation_server(db, None) as (base, _):
        item = httpx.get(f"{base}/api/next", params={"annotator": "ann"}, headers=AUTH).json()
        assert item["item_id"] == "q1" and item["reason"] is None and item["progress"]["done"] == 1
        rest = label_all(base, "ann", {"q1": ("no",), "q2": ("yes", "reject"), "q3": ("yes",)})
        assert rest == ["q1", "q2", "q3"]  # q4's video does not play: never offered
        assert httpx.get(f"{base}/api/next", params={"annotator": "ann"}, headers=AUTH).status_code == 204
        assert httpx.get(f"{base}/api/progress", params={"annotator": "ann"}, headers=AUTH).json()["done"] == 4
        assert httpx.get(f"{base}/api/skipped", headers=AUTH).json()[0]["item_id"] == "q4"


def test_per_item_decides_how_many_annotators_see_an_item(data, tmp_path):
    with annotation_server(tmp_path / "p.sqlite", data, per_item=1) as (base, _):
        assert post(base, "q0", "ann", "yes").status_code == 200
        item = httpx.get(f"{base}/api/next", params={"annotator": "bob"}, headers=AUTH).json()
        assert item["item_id"] == "q1"  # q0 has its one annotator


def test_bad_labels_get_clear_errors(data, tmp_path):
    with annotation_server(tmp_path / "b.sqlite", data) as (base, _):
        assert post(base, "nope", "ann", "yes").status_code == 404
        r = post(base, "q1", "ann", "yes", "accept")  # q1 has no reason
        assert r.status_code == 422 and "no reason to check" in r.text
        r = post(base, "q0", "ann", "yes", "edit", "  ")
        assert r.status_code == 422 and "edited reason" in r.text
        assert post(base, "q0", "ann", "maybe").status_code == 422
        assert post(base, "q4", "ann", "yes").status_code == 422  # skipped: its video does not play
        assert httpx.get(f"{base}/api/videos/nope", headers=AUTH).status_code == 404


def test_videos_are_served_with_range_requests(data, tmp_path):
    video = (data.parent / "red.mp4").read_bytes()
    with annotation_server(tmp_path / "r.sqlite", data) as (base, _):
        whole = httpx.get(f"{base}/api/videos/q0", headers=AUTH)
        assert whole.status_code == 200 and whole.content == video and whole.headers["accept-ranges"] == "bytes"
        part = httpx.get(f"{base}/api/videos/q0", headers=AUTH | {"Range": "bytes=100-299"})
        assert part.status_code == 206
        assert part.headers["content-range"] == f"bytes 100-299/{len(video)}"
        assert part.content == video[100:300]
        tail = httpx.get(f"{base}/api/videos/q0", headers=AUTH | {"Range": "bytes=-50"})
        assert tail.status_code == 206 and tail.content == video[-50:]


def test_two_annotators_labelling_one_item_at_the_same_moment_are_both_kept(data, tmp_path):
    with time_limit(60, "concurrent labels"), annotation_server(tmp_path / "s.sqlite", data) as (base, store):
        gate = threading.Barrier(8)
        codes = []

        def label(name):
            gate.wait()
            codes.append(post(base, "q0", name, "yes", "accept").status_code)

        threads = [threading.Thread(target=label, args=(f"ann{i}",)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert codes == [200] * 8
        assert sorted(label.annotator for label in store.labels("q0")) == [f"ann{i}" for i in range(8)]


# ---- agreement, adjudication, export ----

ANN = {"q0": ("yes", "accept"), "q1": ("no",), "q2": ("yes", "accept"), "q3": ("yes", "reject")}
BOB = {"q0": ("yes", "accept"), "q1": ("no",), "q2": ("no", "reject"), "q3": ("yes", "edit", "Crisp edges throughout.")}


@pytest.fixture(scope="module")
def labelled(data, tmp_path_factory):
    """A db that two annotators labelled through the API (q2: they disagree), then q2 adjudicated."""
    db = tmp_path_factory.mktemp("labelled") / "annotations.sqlite"
    with annotation_server(db, data) as (base, _):
        assert label_all(base, "ann", ANN) == ["q0", "q1", "q2", "q3"]
        assert label_all(base, "bob", BOB) == ["q0", "q1", "q2", "q3"]
        agreement = httpx.get(f"{base}/api/agreement", headers=AUTH).json()
        disagreements = httpx.get(f"{base}/api/disagreements", headers=AUTH).json()
        before = httpx.get(f"{base}/api/export", headers=AUTH)
        decided = httpx.post(f"{base}/api/adjudications", headers=AUTH, json={
            "item_id": "q2", "adjudicator": "judge", "answer": "no", "reason_verdict": "edit",
            "reason": "The blue square stays still."})
        after = httpx.get(f"{base}/api/export", headers=AUTH)
        left = httpx.get(f"{base}/api/disagreements", headers=AUTH).json()
    return dict(db=db, agreement=agreement, disagreements=disagreements, before=before, decided=decided,
                after=after, left=left)


def test_agreement_is_cohens_kappa_over_the_items_two_annotators_labelled(labelled):
    agreement = labelled["agreement"]
    first, second = [ANN[q][0] for q in sorted(ANN)], [BOB[q][0] for q in sorted(BOB)]
    assert agreement["n"] == 4
    assert agreement["cohen_kappa"] == pytest.approx(cohen_kappa(first, second))
    assert agreement["cohen_kappa"] == pytest.approx(0.5)  # 3 of 4 agree; chance 1/2
    assert agreement["per_dimension"]["text_alignment"] == {"cohen_kappa": 1.0, "n": 1}
    assert agreement["per_dimension"]["dynamic_degree"]["n"] == 2


def test_disagreements_wait_for_an_adjudication(labelled):
    (only,) = labelled["disagreements"]
    assert only["item"]["item_id"] == "q2"
    assert {(label["annotator"], label["answer"]) for label in only["labels"]} == {("ann", "yes"), ("bob", "no")}
    assert labelled["decided"].status_code == 200 and labelled["left"] == []


def test_export_holds_the_agreed_answers_and_checked_reasons(labelled, data):
    before = jsonl_rows(labelled["before"].text)
    assert labelled["before"].headers["content-type"].startswith("application/x-ndjson")
    assert [row["id"] for row in before] == ["q0", "q1", "q3"]  # q2 disagrees, q4 does not play
    rows = {row["id"]: row for row in jsonl_rows(labelled["after"].text)}
    assert list(rows) == ["q0", "q1", "q2", "q3"]
    assert rows["q0"]["answer"] == "yes" and rows["q0"]["reason"] == "The square slides to the right."  # accepted
    assert rows["q1"]["answer"] == "no" and "reason" not in rows["q1"]  # no reason to check
    assert rows["q2"]["answer"] == "no" and rows["q2"]["reason"] == "The blue square stays still."  # adjudicated
    assert rows["q3"]["reason"] == "Crisp edges throughout."  # an edit wins over a reject
    assert rows["q0"]["video"] == "red.mp4" and rows["q0"]["source"] == "test"  # as the data file had them


def test_cli_export_writes_a_file_data_check_accepts_and_training_reads(labelled, tmp_path):
    from fingereval.cli import app
    from fingereval.train.examples import training_rows

    out = tmp_path / "out" / "final.jsonl"
    result = CliRunner().invoke(app, ["annotate", "export", "--db", str(labelled["db"]), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote 4 agreed items" in result.output
    check = CliRunner().invoke(app, ["data", "check", str(out)])
    assert check.exit_code == 0, check.output
    assert "4 records, 2 videos, 0 bad lines" in check.output
    rows = training_rows(out)
    assert [(row["answer"], row["reason"]) for row in rows] == [
        ("yes", "The square slides to the right."), ("no", None), ("no", "The blue square stays still."),
        ("yes", "Crisp edges throughout.")]
    assert all(Path(row["video"]).is_file() for row in rows)  # paths rewritten relative to the new folder
    from_api = jsonl_rows(labelled["after"].text)
    from_file = jsonl_rows(out.read_text(encoding="utf-8"))
    strip = lambda rows: [{k: v for k, v in row.items() if k != "video"} for row in rows]  # noqa: E731
    assert strip(from_file) == strip(from_api)  # the same records as the API's, videos relative to each file


def test_sft_trains_on_exactly_the_agreed_answers_and_checked_reasons(labelled, tiny_model_dir, tmp_path):
    """The export wired into SFT without a training run: the batch SFT's collator builds from the exported file
    supervises exactly the agreed answer and the checked reason of each item, on that item's question and video."""
    from transformers import AutoProcessor

    from fingereval.cli import app
    from fingereval.train.collate import IGNORE_INDEX, SFTCollator
    from fingereval.train.examples import ClipCache, training_rows
    from fingereval.video import VideoConfig

    out = tmp_path / "sft-data" / "final.jsonl"
    assert CliRunner().invoke(app, ["annotate", "export", "--db", str(labelled["db"]), "--out", str(out)]).exit_code == 0
    processor = AutoProcessor.from_pretrained(tiny_model_dir)
    rows = training_rows(out)
    batch = SFTCollator(processor, ClipCache(VideoConfig(size=56, max_frames=2)), reason=True)(rows)
    supervised = [processor.tokenizer.decode(ids[labels != IGNORE_INDEX])
                  for ids, labels in zip(batch["input_ids"], batch["labels"])]
    assert supervised == [  # written out by hand from ANN, BOB and the adjudication: agreed answer, checked reason
        "<think>The square slides to the right.</think><answer>Yes</answer><|im_end|>",  # both accepted
        "<answer>No</answer><|im_end|>",  # no reason to check
        "<think>The blue square stays still.</think><answer>No</answer><|im_end|>",  # the adjudicator's edit
        "<think>Crisp edges throughout.</think><answer>Yes</answer><|im_end|>",  # bob's edit over ann's reject
    ]
    prompts = [processor.tokenizer.decode(ids[labels == IGNORE_INDEX])
               for ids, labels in zip(batch["input_ids"], batch["labels"])]
    questions = ["Does the red square move?", "Is the square red?", "Does the blue square move?",
                 "Is the blue square sharp?"]
    assert all(question in prompt for question, prompt in zip(questions, prompts))
    assert [Path(row["video"]).name for row in rows] == ["red.mp4", "red.mp4", "blue.mp4", "blue.mp4"]
    assert batch["video_grid_thw"].shape[0] == 4  # every row's video decoded from the path the export wrote


def test_line_separators_inside_text_survive_import_labels_and_export(tmp_path):
    """U+2028, U+2029 and U+0085 are line breaks to str.splitlines() but plain characters inside a JSON string (our
    writer, pandas and jq write them unescaped): the data file loads, and the API and CLI exports give them back."""
    from fingereval.cli import app

    seps = "\u2028\u2029\u0085"
    root = tmp_path / "set"
    make_dataset(root)
    rows = [{"id": "s0", "video": "red.mp4", "prompt": f"a square{seps}on grey", "dimension": "dynamic_degree",
             "question": f"Does the square{seps} move?", "good_answer": "yes", "answer": "yes",
             "reason": f"It slides{seps}right."},
            {"id": f"s1{seps}", "video": "blue.mp4", "prompt": "p", "dimension": "vq", "question": "Q?",
             "good_answer": "yes"}]
    data = root / "seps.jsonl"
    data.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    assert data.read_text(encoding="utf-8").count("\n") == 2 and len(data.read_text(encoding="utf-8").splitlines()) > 2
    edited = f"Edited{seps}reason."
    with annotation_server(tmp_path / "sep.sqlite", data) as (base, _):
        item = httpx.get(f"{base}/api/next", params={"annotator": "ann"}, headers=AUTH).json()
        assert (item["prompt"], item["question"], item["reason"]) == (rows[0]["prompt"], rows[0]["question"],
                                                                      rows[0]["reason"])
        for who in ("ann", "bob"):
            assert post(base, "s0", who, "yes", "accept").status_code == 200
            assert post(base, f"s1{seps}", who, "no").status_code == 200
        assert post(base, "s0", "bob", "yes", "edit", edited).status_code == 200
        exported = jsonl_rows(httpx.get(f"{base}/api/export", headers=AUTH).text)
    out = tmp_path / "out" / "final.jsonl"
    result = CliRunner().invoke(app, ["annotate", "export", "--db", str(tmp_path / "sep.sqlite"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    for got in (exported, jsonl_rows(out.read_text(encoding="utf-8"))):
        assert [(r["id"], r["prompt"], r["question"], r["answer"], r.get("reason")) for r in got] == [
            ("s0", rows[0]["prompt"], rows[0]["question"], "yes", edited), (f"s1{seps}", "p", "Q?", "no", None)]


# ---- the CLI ----

def test_cli_serve_serves_the_app(data, tmp_path):
    import subprocess
    import sys
    import time

    from serving import free_port

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "fingereval.cli", "annotate", "serve", "--data", str(data), "--db",
                               str(tmp_path / "cli.sqlite"), "--port", str(port), "--token", TOKEN, "--per-item", "1"],
                              stderr=subprocess.PIPE, text=True)
    try:
        with time_limit(60, "annotate serve"):
            while True:
                try:
                    r = httpx.get(f"http://127.0.0.1:{port}/api/next", params={"annotator": "ann"}, headers=AUTH)
                    break
                except httpx.TransportError:
                    assert server.poll() is None, server.stderr.read()
                    time.sleep(0.2)
        assert r.status_code == 200 and r.json()["item_id"] == "q0"
        assert httpx.get(f"http://127.0.0.1:{port}/api/next", params={"annotator": "ann"}).status_code == 401
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert "item q4:" in stderr and "broken.mp4" in stderr  # the skipped item's note
    assert "5 items" in stderr and "1 skipped" in stderr

def test_cli_serve_refuses_a_public_address_without_a_token(data, tmp_path):
    from fingereval.cli import app

    result = CliRunner().invoke(app, ["annotate", "serve", "--data", str(data), "--db", str(tmp_path / "x.sqlite"),
                                      "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "not a loopback address" in result.output and "--token" in result.output
    assert not (tmp_path / "x.sqlite").exists()


def test_cli_serve_and_export_report_bad_input_in_one_line(tmp_path):
    from fingereval.cli import app

    bad = tmp_path / "qa.jsonl"
    bad.write_text('{"prompt": "p", "dimension": "visual_quality", "question": "Q?", "good_answer": "yes"}\n')
    result = CliRunner().invoke(app, ["annotate", "serve", "--data", str(bad), "--db", str(tmp_path / "a.sqlite")])
    assert result.exit_code == 2 and "line 1: missing field 'video'" in result.output
    not_db = tmp_path / "notes.txt"
    not_db.write_text("hello, not a database " * 50)
    result = CliRunner().invoke(app, ["annotate", "export", "--db", str(not_db), "--out", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 2 and "not an annotation database" in result.output
