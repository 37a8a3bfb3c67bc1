"""FingER-Instruct JSONL: loading with clear errors, relative video paths, splitting and grouping."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from fingereval.data import InstructRecord, group_by_video, load_instruct, split_by_video, write_instruct
from fingereval.errors import DataError


def _row(video: str = "videos/a.mp4", **changes) -> dict:
    row = {"id": "a-q0", "video_id": video.rsplit("/", 1)[-1].split(".")[0], "video": video,
           "prompt": "A red ball rolls to the left.", "dimension": "visual_quality", "entity": "red ball",
           "question": "Is the red ball clearly visible without blur?", "good_answer": "yes", "answer": "no",
           "reason": "The red ball is blurred."}
    row.update(changes)
    return {k: v for k, v in row.items() if v is not None}


def _write(path: Path, lines: list[str | dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join((json.dumps(x) if isinstance(x, dict) else x) + "\n" for x in lines))
    return path


def test_loads_and_normalises(tmp_path):
    path = _write(tmp_path / "qa.jsonl", [
        _row(),
        "",  # blank lines are skipped
        _row(id="a-q1", dimension="Text-to-Video Alignment", good_answer="Yes", answer=' "No." ', reason=None, form="appear"),
    ])
    records = load_instruct(path)
    assert [r.dimension for r in records] == ["visual_quality", "text_alignment"]
    assert records[1].good_answer == "yes" and records[1].answer == "no" and records[1].reason is None
    assert records[1].model_extra == {"form": "appear"}  # unknown fields are kept
    assert records[0].video == os.path.normpath(tmp_path / "videos" / "a.mp4")


def test_video_paths_resolve_against_the_file_folder_not_the_working_directory(tmp_path, monkeypatch):
    path = _write(tmp_path / "data" / "qa.jsonl", [_row("clips/x.mp4"), _row("/abs/y.mp4")])
    monkeypatch.chdir(tmp_path)
    records = load_instruct(Path("data/qa.jsonl"))
    assert records[0].video == str(tmp_path / "data" / "clips" / "x.mp4")
    assert records[1].video == "/abs/y.mp4"


@pytest.mark.parametrize("bad_line, message", [
    ('{"video": "a.mp4", ', "not valid JSON"),
    ("[1, 2]", "expected a JSON object"),
    (json.dumps(_row(question=None)), "missing field 'question'"),
    (json.dumps(_row(dimension="sharpness")), "unknown dimension 'sharpness'"),
    (json.dumps(_row(answer="maybe")), "answer: expected yes or no, got 'maybe'"),
    (json.dumps(_row(good_answer=3)), "good_answer: expected yes or no"),
])
def test_errors_name_the_file_and_line(tmp_path, bad_line, message):
    path = _write(tmp_path / "qa.jsonl", [_row(), _row(id="q1"), bad_line, _row(id="q3")])
    with pytest.raises(DataError) as info:
        load_instruct(path)
    text = str(info.value)
    assert f"{path} line 3" in text and message in text


def test_skip_bad_collects_errors_and_keeps_going(tmp_path):
    path = _write(tmp_path / "qa.jsonl", ["not json", _row(), _row(answer="perhaps"), _row(id="q9")])
    records, errors = load_instruct(path, skip_bad=True)
    assert [r.id for r in records] == ["a-q0", "q9"]
    assert [str(e).split(": ")[0] for e in errors] == [f"{path} line 1", f"{path} line 3"]
    assert all(isinstance(e, DataError) for e in errors)


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_instruct(tmp_path / "nope.jsonl")
    with pytest.raises(DataError, match="folder"):
        load_instruct(tmp_path)


def test_write_makes_paths_relative_to_the_output_and_round_trips(tmp_path):
    source = _write(tmp_path / "src" / "qa.jsonl", [_row("videos/a.mp4", form="blur"), _row("videos/b.mp4", id="b-q0")])
    records = load_instruct(source)
    out = write_instruct(tmp_path / "out" / "deeper" / "qa.jsonl", records)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert rows[0]["video"] == "../../src/videos/a.mp4" and rows[0]["form"] == "blur"
    assert [r.model_dump() for r in load_instruct(out)] == [r.model_dump() for r in records]


def test_a_moved_dataset_folder_still_resolves(tmp_path):
    folder = tmp_path / "set"
    _write(folder / "qa.jsonl", [_row("videos/a.mp4")])
    (folder / "videos").mkdir()
    (folder / "videos" / "a.mp4").write_bytes(b"x")
    moved = tmp_path / "moved"
    shutil.move(folder, moved)
    assert Path(load_instruct(moved / "qa.jsonl")[0].video).is_file()


def _records(n_videos: int, per_video: int = 3) -> list[InstructRecord]:
    return [InstructRecord.model_validate(_row(f"/data/v{v}.mp4", id=f"v{v}-q{q}", video_id=f"v{v}"))
            for v in range(n_videos) for q in range(per_video)]


def test_group_by_video_keeps_order():
    records = _records(3)
    shuffled = [records[i] for i in (3, 0, 4, 6, 1, 5, 2, 7, 8)]
    groups = group_by_video(shuffled)
    assert list(groups) == ["/data/v1.mp4", "/data/v0.mp4", "/data/v2.mp4"]
    assert [r.id for r in groups["/data/v1.mp4"]] == ["v1-q0", "v1-q1", "v1-q2"]


def test_split_by_video_never_puts_a_video_on_both_sides():
    records = _records(50)
    train, held = split_by_video(records, held_out=0.2, seed=0)
    train_videos, held_videos = {r.video for r in train}, {r.video for r in held}
    assert not train_videos & held_videos
    assert len(held_videos) == 10 and len(train_videos) == 40
    assert len(train) + len(held) == len(records)


def test_split_is_deterministic_and_order_free_but_seeded():
    records = _records(40)
    first = split_by_video(records, 0.25, seed=1)
    again = split_by_video(list(reversed(records)), 0.25, seed=1)
    assert {r.id for r in first[1]} == {r.id for r in again[1]}
    other = split_by_video(records, 0.25, seed=2)
    assert {r.video for r in first[1]} != {r.video for r in other[1]}


def test_split_edge_cases():
    assert split_by_video([], 0.2) == ([], [])
    two = _records(2)
    train, held = split_by_video(two, 0.01)
    assert len({r.video for r in held}) == 1 and len({r.video for r in train}) == 1
    train, held = split_by_video(two, 0.0)
    assert held == [] and len(train) == len(two)
    with pytest.raises(ValueError):
        split_by_video(two, 1.0)
