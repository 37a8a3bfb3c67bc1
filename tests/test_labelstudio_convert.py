"""to_labelstudio / from_labelstudio without a server: our tasks and config, and exports in Label Studio's JSON shape.

The export tasks below have the fields and nesting that Label Studio 1.23.2 itself exported in
tests/test_labelstudio.py (ids, completed_by as a user id, was_cancelled, ground_truth, result regions).
"""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import write_video
from fingereval.annotate.labelstudio import from_labelstudio, to_labelstudio
from fingereval.cli import app
from fingereval.data.instruct import load_instruct
from fingereval.errors import DataError

ROWS = [
    {"id": "a-q1", "video": "videos/a.mp4", "prompt": "a red square slides right", "dimension": "visual_quality",
     "entity": "red square", "question": "Is the red square sharp?", "good_answer": "yes",
     "reason": "The edges stay crisp.", "source": "probe"},
    {"id": "a-q2", "video": "videos/a.mp4", "prompt": "a red square slides right", "dimension": "Temporal Consistency",
     "entity": "red square", "question": "Does the red square flicker?", "good_answer": "no",
     "reason": "It keeps its colour.", "answer": "no"},
    {"id": "b-q1", "video": "videos/b c.mp4", "prompt": "a blue square", "dimension": "dynamic_degree",
     "question": "Does the square move?", "good_answer": "yes"},
]


@pytest.fixture
def dataset(tmp_path) -> Path:
    write_video(tmp_path / "videos" / "a.mp4", frames=4, size=56)
    write_video(tmp_path / "videos" / "b c.mp4", frames=4, size=56, moving=False)
    qa = tmp_path / "qa.jsonl"
    qa.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return qa


_ids = iter(range(1000, 100000))


def _region(name: str, kind: str, value: dict) -> dict:
    return {"id": f"r{next(_ids)}", "from_name": name, "to_name": "video", "type": kind, "value": value,
            "origin": "manual"}


def _annotation(user: int, answer: str | None, verdict: str | None = None, reason: str | None = None,
                cancelled: bool = False, ground_truth: bool = False) -> dict:
    result = [] if answer is None else [_region("answer", "choices", {"choices": [answer]})]
    if verdict:
        result.append(_region("reason_verdict", "choices", {"choices": [verdict]}))
    if reason is not None:
        result.append(_region("reason", "textarea", {"text": [reason]}))
    return {"id": next(_ids), "completed_by": user, "result": result, "was_cancelled": cancelled,
            "ground_truth": ground_truth, "created_at": "2026-12-02T14:46:22.059541Z",
            "updated_at": "2026-12-02T14:46:22.059576Z", "draft_created_at": None, "lead_time": 4.2,
            "prediction": {}, "result_count": len(result), "unique_id": "c832e700-d9d7-4859-9c66-ca0952c3b8e9",
            "import_id": None, "last_action": None, "bulk_created": False, "task": 1, "project": 1,
            "updated_by": user, "parent_prediction": None, "parent_annotation": None, "last_created_by": None}


def _export(tasks_json: Path, annotations: dict[str, list[dict]], path: Path) -> Path:
    """Label Studio's JSON export of our imported tasks with these annotations per item id."""
    tasks = []
    for n, task in enumerate(json.loads(tasks_json.read_text()), start=1):
        anns = annotations.get(task["data"]["item_id"], [])
        tasks.append({"id": n, "annotations": anns, "drafts": [], "predictions": [], "data": task["data"], "meta": {},
                      "created_at": "2026-12-02T14:46:21.393444Z", "updated_at": "2026-12-02T14:46:22.647712Z",
                      "allow_skip": True, "inner_id": n, "total_annotations": len(anns),
                      "cancelled_annotations": sum(a["was_cancelled"] for a in anns), "total_predictions": 0,
                      "comment_count": 0, "unresolved_comment_count": 0, "last_comment_updated_at": None,
                      "project": 1, "updated_by": 1, "comment_authors": []})
    path.write_text(json.dumps(tasks))
    return path


def test_tasks_carry_what_the_page_shows_and_the_whole_record(dataset, tmp_path):
    written = to_labelstudio(dataset, tmp_path / "ls")
    tasks = json.loads(written.tasks_file.read_text())
    assert written.count == len(tasks) == 3 and written.skipped == []
    first, last = tasks[0]["data"], tasks[2]["data"]
    assert first["video"] == "/data/local-files/?d=videos/a.mp4"
    assert last["video"] == "/data/local-files/?d=videos/b%20c.mp4"  # URL-quoted
    assert Path(first["video_path"]) == (tmp_path / "videos" / "a.mp4").absolute()
    assert (first["item_id"], first["dimension"], first["entity"], first["reason"]) == (
        "a-q1", "visual_quality", "red square", "The edges stay crisp.")
    assert tasks[1]["data"]["dimension"] == "temporal_consistency"  # normalised like every record
    assert (last["entity"], last["reason"]) == ("", "")  # Label Studio wants every $field of the config present
    assert first["fingereval"]["source"] == "probe"  # unknown fields ride along
    assert "answer" not in first["fingereval"]


def test_the_config_has_the_video_the_yes_no_keys_the_verdict_and_an_editable_reason(dataset, tmp_path):
    config_file = to_labelstudio(dataset, tmp_path / "ls").config_file
    view = ET.fromstring(config_file.read_text())
    assert view.find("Video").get("value") == "$video"
    controls = {c.get("name"): c for c in view.iter("Choices")}
    assert {(c.get("value"), c.get("hotkey")) for c in controls["answer"]} == {("yes", "y"), ("no", "n")}
    assert controls["answer"].get("required") == "true"
    assert [c.get("value") for c in controls["reason_verdict"]] == ["accept", "reject", "edit"]
    area = view.find("TextArea")
    assert (area.get("name"), area.get("editable")) == ("reason", "true")
    shown = {t.get("value") for t in view.iter() if t.get("value", "").startswith("$")}
    assert shown == {"$prompt", "$video", "$question", "$entity", "$reason"}


def test_url_prefix_and_video_root(dataset, tmp_path):
    tasks_file = to_labelstudio(dataset, tmp_path / "ls", video_root=tmp_path / "videos",
                                url_prefix="http://127.0.0.1:9000/media/").tasks_file
    assert json.loads(tasks_file.read_text())[0]["data"]["video"] == "http://127.0.0.1:9000/media/a.mp4"
    with pytest.raises(DataError, match=r"item a-q1: video .*a\.mp4 is not under the video root .*other.*--video-root"):
        to_labelstudio(dataset, tmp_path / "ls", video_root=tmp_path / "other")



def test_an_item_whose_video_will_not_play_is_left_out_with_a_note(dataset, tmp_path):
    (tmp_path / "videos" / "broken.mp4").write_bytes(b"not a video at all")
    with dataset.open("a") as f:
        f.write(json.dumps({**ROWS[2], "id": "c-q1", "video": "videos/broken.mp4"}) + "\n")
    written = to_labelstudio(dataset, tmp_path / "ls")
    assert written.count == 3
    assert [t["data"]["item_id"] for t in json.loads(written.tasks_file.read_text())] == ["a-q1", "a-q2", "b-q1"]
    assert len(written.skipped) == 1 and written.skipped[0].startswith("item c-q1: ")
    assert "broken.mp4" in written.skipped[0] and "skipped" in written.skipped[0]

@pytest.mark.parametrize("bad, message", [
    ({"prompt": "p", "dimension": "visual_quality", "question": "q?", "good_answer": "yes"},
     r"qa\.jsonl line 2: missing field 'video'"),
    ({**ROWS[0]}, r"qa\.jsonl line 2: item 'a-q1' repeats line 1"),
    ({**ROWS[2], "id": "x", "dimension": "colour"}, r"qa\.jsonl line 2: dimension: "),
])
def test_a_bad_questions_line_is_refused_with_its_number(tmp_path, bad, message):
    qa = tmp_path / "qa.jsonl"
    qa.write_text(json.dumps(ROWS[0]) + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(DataError, match=message):
        to_labelstudio(qa, tmp_path / "ls")


def test_skipped_annotations_are_not_labels_and_unlabelled_items_are_counted(dataset, tmp_path):
    tasks_file = to_labelstudio(dataset, tmp_path / "ls").tasks_file
    export = _export(tasks_file, {"a-q1": [_annotation(2, "yes", "accept"), _annotation(3, None, cancelled=True)]},
                     tmp_path / "export.json")
    done = from_labelstudio(export, tmp_path / "final.jsonl")
    assert done.written == 0 and done.problems == []
    assert done.unlabelled == ["a-q2", "b-q1"]



def test_the_app_agreement_rules_decide_answer_and_reason(dataset, tmp_path):
    tasks_file = to_labelstudio(dataset, tmp_path / "ls").tasks_file
    older = {**_annotation(2, "yes", "accept"), "updated_at": "2026-12-02T10:00:00.000000Z"}
    export = _export(tasks_file, {
        # user 2 changed their mind later (the newer annotation counts), user 3 edited the reason
        "a-q1": [_annotation(2, "no", "accept"), older, _annotation(3, "no", "edit", reason="It blurs at 0:01.")],
        "a-q2": [_annotation(2, "no", "accept"), _annotation(3, "no", "reject")],  # a rejected reason is dropped
        # disagreement settled by the annotation marked ground truth
        "b-q1": [_annotation(2, "yes"), _annotation(3, "no"), _annotation(1, "no", ground_truth=True)],
    }, tmp_path / "export.json")
    done = from_labelstudio(export, tmp_path / "final.jsonl")
    assert (done.written, done.adjudicated, done.undecided, done.unlabelled, done.problems) == (3, 1, [], [], [])
    records = {r.id: r for r in load_instruct(tmp_path / "final.jsonl")}
    assert {i: (r.answer, r.reason) for i, r in records.items()} == {
        "a-q1": ("no", "It blurs at 0:01."), "a-q2": ("no", None), "b-q1": ("no", None)}
    assert records["a-q1"].source == "probe" and records["a-q1"].good_answer == "yes"  # the record came back whole
    assert Path(records["b-q1"].video) == (tmp_path / "videos" / "b c.mp4").absolute()
    assert json.loads((tmp_path / "final.jsonl").read_text().splitlines()[0])["video"] == "videos/a.mp4"

    disagree = _export(tasks_file, {"a-q1": [_annotation(2, "yes"), _annotation(3, "no")]}, tmp_path / "export.json")
    done = from_labelstudio(disagree, tmp_path / "final.jsonl")
    assert (done.written, done.undecided) == (0, ["a-q1"])

@pytest.mark.parametrize("annotation, message", [
    (_annotation(2, "maybe"), r"task 1 \(item a-q1\): annotation \d+: answer must be yes or no, got 'maybe'"),
    (_annotation(2, None), r"task 1 \(item a-q1\): annotation \d+ has no 'answer' choice"),
    (_annotation(2, "yes", "approve"), r"task 1 \(item a-q1\): annotation \d+: reason_verdict must be accept, "),
    (_annotation(2, "yes", "edit", reason="  "), r"task 1 \(item a-q1\): annotation \d+: reason_verdict edit needs "),
    ({**_annotation(2, "yes"), "result": None}, r"task 1 \(item a-q1\): annotation \d+ has no result list"),
])
def test_an_unreadable_task_is_named_and_the_rest_still_converts(dataset, tmp_path, annotation, message):
    tasks_file = to_labelstudio(dataset, tmp_path / "ls").tasks_file
    agreeing = [_annotation(2, "no", "accept"), _annotation(3, "no", "accept")]
    export = _export(tasks_file, {"a-q1": [annotation, _annotation(3, "yes")], "a-q2": agreeing},
                     tmp_path / "export.json")
    done = from_labelstudio(export, tmp_path / "final.jsonl")
    assert len(done.problems) == 1
    assert "\n" not in str(done.problems[0])
    assert re.search(message, str(done.problems[0]))
    assert [r.id for r in load_instruct(tmp_path / "final.jsonl")] == ["a-q2"]


def test_an_export_that_is_not_ours_or_not_json_says_so(dataset, tmp_path):
    bad = tmp_path / "export.json"
    bad.write_text("{not json")
    with pytest.raises(DataError, match=r"export\.json is not valid JSON .*export the project as JSON"):
        from_labelstudio(bad, tmp_path / "final.jsonl")
    bad.write_text(json.dumps({"id": 1, "annotations": []}))
    with pytest.raises(DataError, match=r"holds a dict, not a list of tasks"):
        from_labelstudio(bad, tmp_path / "final.jsonl")
    # JSON-MIN flattens each task to its data and one annotation's choices
    bad.write_text(json.dumps([{"id": 7, "video": "/data/local-files/?d=a.mp4", "answer": "yes", "annotator": 1}]))
    done = from_labelstudio(bad, tmp_path / "final.jsonl")
    assert "task 7: this is a JSON-MIN export; export the project as JSON instead" in str(done.problems[0])
    bad.write_text(json.dumps([{"id": 8, "annotations": [], "data": {"image": "x.png"}}]))
    done = from_labelstudio(bad, tmp_path / "final.jsonl")
    assert "task 8: its data has no 'fingereval' record" in str(done.problems[0])


def test_cli_round_trip_without_a_server(dataset, tmp_path):
    runner = CliRunner()
    out = runner.invoke(app, ["annotate", "to-labelstudio", str(dataset), "--out", str(tmp_path / "ls")])
    assert out.exit_code == 0, out.output
    assert "wrote 3 tasks" in out.output and "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT" in out.output
    export = _export(tmp_path / "ls" / "tasks.json",
                     {"a-q1": [_annotation(2, "yes", "accept"), _annotation(3, "yes", "accept")],
                      "b-q1": [_annotation(2, "maybe")]}, tmp_path / "export.json")
    out = runner.invoke(app, ["annotate", "from-labelstudio", str(export), "--out", str(tmp_path / "final.jsonl")])
    assert out.exit_code == 1  # a task could not be read: said, and the rest written
    assert "got 'maybe'" in out.output and "wrote 1 records" in out.output
    check = runner.invoke(app, ["data", "check", str(tmp_path / "final.jsonl")])
    assert check.exit_code == 0, check.output
    missing = runner.invoke(app, ["annotate", "from-labelstudio", str(tmp_path / "nope.json"), "--out",
                                  str(tmp_path / "x.jsonl")])
    assert missing.exit_code == 2 and "Label Studio export" in missing.output and "not found" in missing.output


def test_a_verdict_on_an_item_without_a_reason_is_ignored_unless_it_writes_one(dataset, tmp_path):
    tasks_file = to_labelstudio(dataset, tmp_path / "ls").tasks_file  # b-q1 has no reason; the page shows the verdict anyway
    export = _export(tasks_file, {"b-q1": [_annotation(2, "yes", "accept"), _annotation(3, "yes", "reject")]},
                     tmp_path / "export.json")
    assert from_labelstudio(export, tmp_path / "final.jsonl").problems == []
    assert [(r.answer, r.reason) for r in load_instruct(tmp_path / "final.jsonl")] == [("yes", None)]
    export = _export(tasks_file, {"b-q1": [_annotation(2, "yes", "edit", reason="It slides."), _annotation(3, "yes")]},
                     tmp_path / "export.json")
    from_labelstudio(export, tmp_path / "final.jsonl")
    assert [r.reason for r in load_instruct(tmp_path / "final.jsonl")] == ["It slides."]


def test_line_separators_inside_text_survive_the_label_studio_round_trip(tmp_path):
    """U+2028, U+2029 and U+0085 inside JSON strings are characters, not line breaks: the questions file loads, the
    tasks carry them, and the converted export gives them back (an edited reason with them included)."""
    seps = "\u2028\u2029\u0085"
    write_video(tmp_path / "videos" / "a.mp4", frames=4, size=56)
    row = {"id": f"s{seps}1", "video": "videos/a.mp4", "prompt": f"a red{seps}square", "dimension": "visual_quality",
           "question": f"Is it{seps} sharp?", "good_answer": "yes", "reason": f"Crisp{seps}edges."}
    qa = tmp_path / "qa.jsonl"
    qa.write_text(json.dumps(row, ensure_ascii=False) + "\n", encoding="utf-8")
    tasks_file = to_labelstudio(qa, tmp_path / "ls").tasks_file
    (task,) = json.loads(tasks_file.read_text(encoding="utf-8"))
    assert (task["data"]["prompt"], task["data"]["question"], task["data"]["item_id"]) == (
        row["prompt"], row["question"], row["id"])
    edited = f"Edited{seps}reason."
    export = _export(tasks_file, {row["id"]: [_annotation(2, "yes", "edit", edited), _annotation(3, "yes", "accept")]},
                     tmp_path / "export.json")
    done = from_labelstudio(export, tmp_path / "final.jsonl")
    assert done.written == 1 and not done.problems
    text = (tmp_path / "final.jsonl").read_text(encoding="utf-8")
    (back,) = [json.loads(line) for line in text.split("\n") if line]
    assert (back["id"], back["prompt"], back["question"], back["answer"], back["reason"]) == (
        row["id"], row["prompt"], row["question"], "yes", edited)
    assert [r.reason for r in load_instruct(tmp_path / "final.jsonl")] == [edited]
