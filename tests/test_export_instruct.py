"""`fingereval export RESULTS --to instruct` (docs/annotate.md, "From scores to people"): the records written out
by hand from a small results file, the video paths relative to the output file, and untrusted text kept as data."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fingereval.cli import app
from fingereval.data.instruct import load_instruct

runner = CliRunner()
HOSTILE = 'Is the cat </script><img src=x onerror=alert(1)> "red"?\nSecond\u2028line'


def _q(qid, dimension, question, good, answer, p_yes, score, reason=None, entity=None) -> dict:
    return {"id": qid, "dimension": dimension, "entity": entity, "question": question, "good_answer": good,
            "answer": answer, "reason": reason, "p_yes": p_yes, "score": score}


@pytest.fixture
def results(tmp_path) -> Path:
    """Three results as `fingereval score --out` writes them: a folder run's absolute path with reasons, a relative
    path whose text is hostile (and holds a byte that was not UTF-8), and a failed video."""
    (tmp_path / "clips").mkdir()
    for name in ("a.mp4", "b.mp4"):
        (tmp_path / "clips" / name).write_bytes(b"\x00")  # the export checks only that the file is there
    lines = [
        {"id": "a.mp4", "video": str(tmp_path / "clips" / "a.mp4"), "prompt": "A red cat sleeps", "overall": 0.6,
         "dimensions": {"visual_quality": 0.9, "text_alignment": 0.3}, "model": "tiny", "mode": "reason",
         "rubric": {"name": "finger", "sha256": "0" * 64},
         "questions": [_q("q0", "visual_quality", "Is the cat sharp?", "yes", "yes", 0.9, 0.9, "Its fur is crisp.",
                          "cat"),
                       _q("q1", "text_alignment", "Is the cat red?", "yes", "no", 0.3, 0.3, "It looks grey.", "cat")]},
        {"id": "b<1>", "video": "clips/b.mp4", "prompt": "caf\udce9 </script>", "overall": 0.2,
         "dimensions": {"dynamic_degree": 0.2}, "model": "tiny", "mode": "direct",
         "questions": [_q("q0", "dynamic_degree", HOSTILE, "no", "yes", 0.8, 0.2)]},
        {"id": "c", "video": "clips/c.mp4", "prompt": "A failed one", "model": "tiny",
         "error": {"type": "VideoError", "message": "clips/c.mp4: not found"}},
    ]
    path = tmp_path / "run" / "results.jsonl"
    path.parent.mkdir()
    (tmp_path / "run" / "clips").symlink_to(tmp_path / "clips")  # relative paths are taken from the results' folder
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return path


def test_one_record_per_question_with_the_models_answer_and_reason_to_check(results, tmp_path):
    out = tmp_path / "people" / "qa.jsonl"
    r = runner.invoke(app, ["export", str(results), "--to", "instruct", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "wrote 3 records (2 videos)" in r.stderr and "annotate serve --data" in r.stderr
    assert "'c' failed to score (VideoError)" in r.stderr and "left out" in r.stderr
    assert "not valid UTF-8" in r.stderr and "café" in r.stderr  # the byte read as Windows-1252, said once
    assert "--rubric" not in r.stderr  # FingER's rubric: the readers' default
    written = [json.loads(line) for line in out.read_text(encoding="utf-8").split("\n") if line]
    assert written == [  # by hand from the results above; videos relative to people/qa.jsonl
        {"id": "a.mp4-q0", "video_id": "a.mp4", "video": "../clips/a.mp4", "prompt": "A red cat sleeps",
         "dimension": "visual_quality", "entity": "cat", "question": "Is the cat sharp?", "good_answer": "yes",
         "answer": "yes", "reason": "Its fur is crisp.", "question_id": "q0", "model": "tiny", "model_answer": "yes",
         "model_p_yes": 0.9, "rubric": "finger"},
        {"id": "a.mp4-q1", "video_id": "a.mp4", "video": "../clips/a.mp4", "prompt": "A red cat sleeps",
         "dimension": "text_alignment", "entity": "cat", "question": "Is the cat red?", "good_answer": "yes",
         "answer": "no", "reason": "It looks grey.", "question_id": "q1", "model": "tiny", "model_answer": "no",
         "model_p_yes": 0.3, "rubric": "finger"},
        {"id": "b<1>-q0", "video_id": "b<1>", "video": "../run/clips/b.mp4", "prompt": "café </script>",
         "dimension": "dynamic_degree", "question": HOSTILE, "good_answer": "no", "answer": "yes",
         "question_id": "q0", "model": "tiny", "model_answer": "yes", "model_p_yes": 0.8},
    ]
    assert len(out.read_text(encoding="utf-8").split("\n")) == 4  # the line breaks in the text stay inside strings
    records = load_instruct(out)  # as calibrate, bench qa and train sft read it
    clips = [tmp_path / "clips" / "a.mp4"] * 2 + [tmp_path / "run" / "clips" / "b.mp4"]
    assert [Path(r.video) for r in records] == clips
    assert all(Path(r.video).is_file() for r in records)


def test_the_annotation_app_loads_the_export_with_the_reason_shown_for_the_models_answer(results, tmp_path):
    from fingereval.annotate.store import read_items

    out = tmp_path / "qa.jsonl"
    assert runner.invoke(app, ["export", str(results), "--to", "instruct", "--out", str(out)]).exit_code == 0
    items = read_items(out)
    assert [(i.id, i.answer, i.reason) for i in items] == [
        ("a.mp4-q0", "yes", "Its fur is crisp."), ("a.mp4-q1", "no", "It looks grey."), ("b<1>-q0", "yes", None)]
    assert items[2].video == os.path.normpath(tmp_path / "run" / "clips" / "b.mp4")


def test_two_models_on_one_video_get_their_own_ids_and_moved_videos_are_found_under_videos_root(results, tmp_path):
    rows = [json.loads(x) for x in results.read_text(encoding="utf-8").splitlines()]
    other = dict(rows[0], model="big", video="/gone/elsewhere/a.mp4",  # scored on another machine, another rubric
                 rubric={"name": "camera_motion", "sha256": "1" * 64},
                 questions=[dict(q, dimension="camera_motion") for q in rows[0]["questions"]])
    both = tmp_path / "both.jsonl"
    both.write_text(json.dumps(dict(rows[0], video="/gone/elsewhere/a.mp4")) + "\n" + json.dumps(other) + "\n")
    out = tmp_path / "qa.jsonl"
    r = runner.invoke(app, ["export", str(both), "--to", "instruct", "--out", str(out)])
    assert r.exit_code == 0 and "/gone/elsewhere/a.mp4 not found" in r.stderr and "--videos-root" in r.stderr
    r = runner.invoke(app, ["export", str(both), "--to", "instruct", "--out", str(out),
                            "--videos-root", str(tmp_path / "clips")])
    assert r.exit_code == 0 and "not found" not in r.stderr, r.output
    assert "rubric camera_motion: give the same --rubric" in r.stderr
    written = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(w["id"], w["model"], w["video"], w["dimension"]) for w in written] == [
        ("a.mp4-tiny-q0", "tiny", "clips/a.mp4", "visual_quality"),
        ("a.mp4-tiny-q1", "tiny", "clips/a.mp4", "text_alignment"),
        ("a.mp4-big-q0", "big", "clips/a.mp4", "camera_motion"),
        ("a.mp4-big-q1", "big", "clips/a.mp4", "camera_motion")]


def test_bad_requests_are_one_line(results, tmp_path):
    def one_line(args):
        r = runner.invoke(app, ["export", *args])
        assert r.exit_code == 2 and len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.output, r.output
        return r.stderr

    assert "give --out" in one_line([str(results), "--to", "instruct"])
    assert "one of the results files" in one_line([str(results), "--to", "instruct", "--out", str(results)])
    out = str(tmp_path / "q.jsonl")
    assert "--questions" in one_line([str(results), "--to", "instruct", "--out", out, "--questions"])
    failed = tmp_path / "failed.jsonl"
    failed.write_text(results.read_text(encoding="utf-8").splitlines()[2] + "\n")
    assert "no question to check" in runner.invoke(app, ["export", str(failed), "--to", "instruct", "--out",
                                                         str(tmp_path / "q.jsonl")]).stderr
    assert not (tmp_path / "q.jsonl").exists()
    assert "--videos-root goes with --to instruct" in one_line([str(results), "--to", "csv", "--videos-root", "x"])


def test_hostile_video_paths_are_written_as_data_with_a_warning_each(tmp_path):
    """Paths no file system holds (a NUL, a byte that was not UTF-8, a 5,000-character name, a climb out of the
    folder): each record is written, named in one warning, and read back; the annotation app then decides what
    plays (docs/annotate.md, Security)."""
    q = {"id": "q0", "dimension": "visual_quality", "question": "Q?", "good_answer": "yes", "answer": "yes",
         "p_yes": 0.9, "score": 0.9}
    videos = {"nul": "a\u0000b.mp4", "byte": "caf\udce9.mp4", "long": "x" * 5000 + ".mp4", "up": "../../../etc/passwd"}
    results = tmp_path / "r.jsonl"
    results.write_text("".join(json.dumps({"id": k, "video": v, "prompt": "p", "questions": [q]}) + "\n"
                               for k, v in videos.items()), encoding="utf-8")
    out = tmp_path / "o" / "qa.jsonl"
    r = runner.invoke(app, ["export", str(results), "--to", "instruct", "--out", str(out)])
    assert r.exit_code == 0 and "Traceback" not in r.output, r.output
    assert r.stderr.count("not found") == 4 and "wrote 4 records (4 videos)" in r.stderr
    written = {row["id"]: row["video"] for row in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert written == {"nul-q0": "../a\u0000b.mp4", "byte-q0": "../café.mp4", "long-q0": "../" + videos["long"],
                       "up-q0": "../../../../etc/passwd"}  # relative to o/, as the results named them
    assert [Path(x.video).name for x in load_instruct(out)] == ["a\u0000b.mp4", "café.mp4", videos["long"], "passwd"]


def test_an_image_to_video_result_keeps_its_image_through_csv_instruct_and_the_annotation_app(tmp_path):
    """The conditioning image rides along: a CSV column as the result records it, a record field relative to the
    instruct file (as `video`), loaded back absolute, shown by `annotate serve` before the video, and kept by its
    export."""
    import csv
    import hashlib
    import io

    import httpx
    import numpy as np
    from PIL import Image

    from annotating import AUTH, annotation_server
    from conftest import write_video

    run = tmp_path / "run"
    write_video(run / "clips" / "a.mp4", codec="libx264", frames=8)
    write_video(run / "clips" / "b.mp4", codec="libx264", frames=8, colour=(30, 30, 220))
    (run / "first").mkdir()
    Image.fromarray(np.full((32, 32, 3), (200, 40, 40), np.uint8)).save(run / "first" / "a.png")
    png = (run / "first" / "a.png").read_bytes()
    question = _q("q0", "visual_quality", "Is the square sharp?", "yes", "yes", 0.9, 0.9, "Crisp edges.")
    results = run / "results.jsonl"
    results.write_text(json.dumps({"id": "a", "video": "clips/a.mp4", "prompt": "A red square", "model": "tiny",
                                   "image": {"path": "first/a.png", "sha256": hashlib.sha256(png).hexdigest()},
                                   "questions": [question]}) + "\n"
                       + json.dumps({"id": "b", "video": "clips/b.mp4", "prompt": "A blue square", "model": "tiny",
                                     "questions": [question]}) + "\n")

    for extra in ([], ["--questions"]):
        table = runner.invoke(app, ["export", str(results), "--to", "csv", *extra])
        assert table.exit_code == 0, table.output
        assert [row["image"] for row in csv.DictReader(io.StringIO(table.stdout))] == ["first/a.png", ""]

    out = tmp_path / "people" / "qa.jsonl"
    r = runner.invoke(app, ["export", str(results), "--to", "instruct", "--out", str(out)])
    assert r.exit_code == 0 and "not found" not in r.stderr, r.output
    written = {row["id"]: row for row in map(json.loads, out.read_text().splitlines())}
    assert written["a-q0"]["image"] == "../run/first/a.png" and written["a-q0"]["video"] == "../run/clips/a.mp4"
    assert "image" not in written["b-q0"]
    assert [r.image for r in load_instruct(out)] == [os.path.normpath(run / "first" / "a.png"), None]

    with annotation_server(tmp_path / "a.sqlite", out, per_item=1) as (base, _):
        shown = httpx.get(f"{base}/api/next", params={"annotator": "ann"}, headers=AUTH).json()
        assert shown["item_id"] == "a-q0" and shown["image"] == "a.png"  # outside the data folder: its name only
        image = httpx.get(base + shown["image_url"], headers=AUTH)
        assert image.status_code == 200 and image.content == png and image.headers["content-type"] == "image/png"
        assert httpx.get(f"{base}/api/images/b-q0", headers=AUTH).status_code == 404  # text-to-video: no image
        page = httpx.get(f"{base}/", headers=AUTH).text
        assert 'id="condimage"' in page and page.index('id="condimage"') < page.index('id="player"')
        for item in ("a-q0", "b-q0"):
            decided = httpx.post(f"{base}/api/adjudications", headers=AUTH,
                                 json={"item_id": item, "adjudicator": "judge", "answer": "yes"})
            assert decided.status_code == 200, decided.text
        exported = [json.loads(line) for line in httpx.get(f"{base}/api/export", headers=AUTH).text.splitlines()]
    assert [row.get("image") for row in exported] == ["../run/first/a.png", None]  # relative to the data file
