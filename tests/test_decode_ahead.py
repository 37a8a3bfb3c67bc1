"""Decoding ahead (issue 29 item 1): the next videos decode while the model works, and nothing about the results
changes: their order, the error records of videos that fail (in their place), resume, p_yes; the number of clips
decoded ahead stays within the depth. Real PyAV decoding throughout; the tiny model where p_yes is compared."""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from conftest import local_ray, time_limit, write_video
from fingereval import decode_ahead
from fingereval.answer.base import Answerer
from fingereval.batch import run_manifest
from fingereval.decode_ahead import DecodeAhead, scored_in_order
from fingereval.errors import VideoError
from fingereval.evaluator import Evaluator
from fingereval.limits import InputLimits
from fingereval.schema import RawAnswer
from fingereval.video import VideoConfig, load_video

VC = VideoConfig(size=56, max_frames=4)
QUESTIONS = [{"id": "q1", "dimension": "text_alignment", "entity": "square", "text": "Does a square appear?", "good_answer": "yes"},
             {"id": "q2", "dimension": "temporal_consistency", "text": "Is there flicker?", "good_answer": "no"}]


def _video(folder: Path, name: str, i: int = 0, frames: int = 8) -> Path:
    return write_video(folder / name, frames=frames, size=56, colour=(200, 30 * i % 256, 30 + 20 * i % 226),
                       moving=i % 2 == 0)


def _manifest(folder: Path, rows: list[tuple[str, str]], questions=QUESTIONS) -> Path:
    manifest = folder / "m.jsonl"
    manifest.write_text("".join(json.dumps({"id": key, "video": video, "prompt": "A red square slides right",
                                            "questions": questions}) + "\n" for key, video in rows))
    return manifest


def _records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture()
def decodes(monkeypatch) -> list[str]:
    """The videos the decode-ahead threads decode, each noted when its decoding has finished (or failed)."""
    seen: list[str] = []
    real = decode_ahead.load_video

    def counted(path, *args, **kwargs):
        try:
            return real(path, *args, **kwargs)
        finally:
            seen.append(Path(path).name)

    monkeypatch.setattr(decode_ahead, "load_video", counted)
    return seen


class PixelAnswerer(Answerer):
    """No model: p_yes from the clip's mean pixel (so a clip swapped for another shows), optionally noting how many
    decodes have finished beyond the clip it answers once that number reaches `depth` (or after 10 s)."""

    def __init__(self, video_config: VideoConfig = VC, decodes: list | None = None, depth: int = 0, total: int = 0):
        self.model_id, self.video_config = "pixels", video_config
        self.decodes, self.depth, self.total = decodes, depth, total
        self.answered, self.ahead = 0, []

    def answer(self, clip, questions, reason=False):
        if self.decodes is not None:
            want = min(self.total, self.answered + 1 + self.depth)
            deadline = time.monotonic() + 10
            while len(self.decodes) < want and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.05)  # room for a decode past the bound to show
            self.ahead.append(len(self.decodes) - (self.answered + 1))
        self.answered += 1
        p = float(clip.frames.mean()) / 255
        return [RawAnswer(q.id, p) for q in questions]


def test_results_and_error_records_are_those_of_decoding_in_line_in_the_same_order(tiny_model_dir, tmp_path):
    """A broken file, a video over the frame cap, a missing file and an item with a bad question among good ones:
    decoding ahead writes the same file as decoding in line, byte for byte (p_yes of the tiny model included)."""
    for i in (0, 1, 5):
        _video(tmp_path, f"v{i}.mp4", i)
    _video(tmp_path, "long.mp4", 3, frames=24)  # 24 frames > the cap of 12: refused by the decoder's length check
    _video(tmp_path, "q.mp4", 4)
    (tmp_path / "broken.mp4").write_text("not a video")
    rows = [("v0", "v0.mp4"), ("broken", "broken.mp4"), ("v1", "v1.mp4"), ("long", "long.mp4"), ("bad-q", "q.mp4"),
            ("missing", "nope.mp4"), ("v5", "v5.mp4")]
    manifest = _manifest(tmp_path, rows)
    bad_q = tmp_path / "bad.jsonl"  # the same items, one of them with a question of an unknown dimension
    bad_q.write_text("".join(
        line if json.loads(line)["id"] != "bad-q" else json.dumps({**json.loads(line), "questions": [
            {"id": "z", "dimension": "beauty", "text": "?", "good_answer": "yes"}]}) + "\n"
        for line in manifest.read_text().splitlines(keepends=True)))
    evaluator = Evaluator(tiny_model_dir, video_config=VC, limits=InputLimits(max_video_frames=12))
    in_line, ahead, events = tmp_path / "in_line.jsonl", tmp_path / "ahead.jsonl", []
    run_manifest(evaluator, bad_q, in_line, decode_ahead=0, progress=False, on_event=lambda m: None)
    s = run_manifest(evaluator, bad_q, ahead, decode_ahead=2, progress=False, on_event=events.append)

    assert ahead.read_text() == in_line.read_text()
    records = _records(ahead)
    assert [r["id"] for r in records] == [key for key, _ in rows]
    errors = {r["id"]: r["error"] for r in records if "error" in r}
    assert set(errors) == {"broken", "long", "bad-q", "missing"} and (s.done, s.failed) == (3, 4)
    assert errors["long"]["type"] == "LimitExceeded" and "--max-video-frames" in errors["long"]["message"]
    assert errors["broken"]["type"] == "VideoError" and "not found" in errors["missing"]["message"]
    assert "unknown dimension" in errors["bad-q"]["message"]
    # three different videos: equal files are not one clip's answers copied
    assert len({r["questions"][0]["p_yes"] for r in records if "error" not in r}) == 3
    # the good videos (bad-q's too) were decoded ahead: the file's equality is not in-line decoding twice
    assert any(e.startswith("decoded ahead: 4 videos, 2 deep on 1 thread(s)") for e in events), events


@pytest.mark.parametrize("depth", [1, 3])
def test_no_more_than_depth_clips_are_decoded_ahead_of_the_model(tmp_path, decodes, depth):
    n = 6
    names = [_video(tmp_path, f"v{i}.mp4", i).name for i in range(n)]
    manifest = _manifest(tmp_path, [(name, name) for name in names])
    big = VideoConfig(size=448, max_frames=4)  # clips of a size the memory line shows in MB
    answerer = PixelAnswerer(big, decodes, depth, n)
    events: list[str] = []
    with time_limit(120, "decoding ahead"):
        s = run_manifest(Evaluator(answerer=answerer), manifest, tmp_path / "r.jsonl", decode_ahead=depth,
                         progress=False, on_event=events.append)
    assert (s.done, s.failed) == (n, 0)
    # while the model held video i, videos up to i + depth had been decoded, and none past them
    assert answerer.ahead == [min(depth, n - 1 - i) for i in range(n)]
    assert sorted(decodes) == sorted(names)  # each video decoded once
    clip = load_video(tmp_path / names[0], big).frames.nbytes
    assert clip == 2 * 448 * 448 * 3
    line = f"at most {depth + 1} decoded clips in memory at once ({(depth + 1) * clip / 1e6:.1f} MB)"
    assert any(line in e for e in events), (line, events)


def test_resume_decodes_only_what_is_left_and_keeps_what_was_written(tmp_path, decodes):
    for i in range(4):
        _video(tmp_path, f"v{i}.mp4", i)
    rows = [(f"i{i}", f"v{i}.mp4") for i in range(4)]
    out = tmp_path / "r.jsonl"
    run_manifest(Evaluator(answerer=PixelAnswerer()), _manifest(tmp_path, rows[:2]), out, progress=False,
                 on_event=lambda m: None)
    first = out.read_text()
    assert sorted(decodes) == ["v0.mp4", "v1.mp4"]
    decodes.clear()
    rows.insert(3, ("later", "later.mp4"))  # not there yet: fails, in its place
    s = run_manifest(Evaluator(answerer=PixelAnswerer()), _manifest(tmp_path, rows), out, progress=False,
                     on_event=lambda m: None)
    assert (s.skipped_existing, s.done, s.failed) == (2, 2, 1)
    assert sorted(decodes) == ["later.mp4", "v2.mp4", "v3.mp4"]  # the two done are not decoded again
    assert out.read_text().startswith(first)
    assert [r["id"] for r in _records(out)] == ["i0", "i1", "i2", "later", "i3"]
    decodes.clear()
    _video(tmp_path, "later.mp4", 7)
    s = run_manifest(Evaluator(answerer=PixelAnswerer()), _manifest(tmp_path, rows), out, progress=False,
                     retry_failed=True, on_event=lambda m: None)
    assert (s.done, s.failed) == (1, 0)
    assert sorted(r["id"] for r in _records(out)) == ["i0", "i1", "i2", "i3", "later"]
    # one item left: nothing to decode ahead of, so it is decoded in line
    assert decodes == []


def test_decoding_in_processes_gives_the_same_clips_and_errors(tmp_path):
    paths = [_video(tmp_path, "a.mp4", 1), tmp_path / "broken.mp4", _video(tmp_path, "b.mp4", 2)]
    paths[1].write_bytes(b"\x00" * 64)

    def in_line(path):
        try:
            return load_video(path, VC).frames
        except VideoError as e:
            return (type(e).__name__, str(e))

    def ahead_of(path, decoded):
        try:
            return decoded().frames
        except VideoError as e:
            return (type(e).__name__, str(e))

    with time_limit(120, "decoding in processes"), DecodeAhead(VC, depth=2, processes=True) as ahead:
        got = list(scored_in_order(ahead, paths, str, ahead_of))
    want = [in_line(p) for p in paths]
    assert got[1] == want[1] and got[1][0] == "VideoError"
    assert all((g == w).all() for g, w in ((got[0], want[0]), (got[2], want[2])))
    assert ahead.stats.decoded == 2


def test_the_service_worker_decodes_its_next_videos_ahead_with_the_same_results(tiny_model_dir, tmp_path):
    from recording import NotesAhead

    from fingereval.schema import QuestionSet
    from fingereval.serve.worker import Job, ModelWorker

    names = ["v0.mp4", "broken.mp4", "v1.mp4", "v2.mp4"]
    for i, name in enumerate(names):
        _video(tmp_path, name, i) if name != "broken.mp4" else (tmp_path / name).write_text("not a video")
    notes = tmp_path / "notes"
    notes.mkdir()
    evaluator = Evaluator(answerer=NotesAhead(str(tiny_model_dir), VC, str(notes)))
    questions = QuestionSet.model_validate({"prompt": "A red square", "questions": QUESTIONS})
    jobs = [Job(video=tmp_path / n, name=n, prompt="A red square", questions=questions) for n in names]
    worker = ModelWorker(evaluator, max_queue=8, decode_ahead=2)
    worker.submit(jobs)  # before the worker starts: it takes all four as one batch
    worker.start()
    try:
        with time_limit(180, "the service's worker"):
            outcomes = [job.future.exception(timeout=170) or job.future.result() for job in jobs]
    finally:
        worker.stop()
    noted = {p.name.split(".mp4")[0] + ".mp4" for p in notes.iterdir()}
    # the first video is decoded in line; the next ones while the model worked (broken.mp4 never decodes)
    assert noted == {"v1.mp4", "v2.mp4"}
    for name, got in zip(names, outcomes):
        try:
            want = evaluator.score(tmp_path / name, "A red square", questions)  # in line, this thread
        except VideoError as e:
            assert isinstance(got, VideoError) and str(got) == str(e)
            continue
        assert [q.p_yes for q in got.questions] == [q.p_yes for q in want.questions]
    assert isinstance(outcomes[1], VideoError)


def test_a_clip_prepared_on_a_decode_thread_gives_the_same_p_yes_without_running_the_processor_again(
        tiny_model_dir, red_video, blue_static_video):
    import dataclasses
    from concurrent.futures import ThreadPoolExecutor

    from fingereval.answer.transformers_backend import TransformersAnswerer
    from fingereval.answer.video_tensors import PreparedClip
    from fingereval.schema import Question

    answerer = TransformersAnswerer(tiny_model_dir, device="cpu", video_config=VC)
    questions = [Question.model_validate(q) for q in QUESTIONS]
    red, blue = load_video(red_video, VC), load_video(blue_static_video, VC)
    with ThreadPoolExecutor(1) as thread:  # as a decode-ahead thread runs it
        ready_red, ready_blue = thread.submit(answerer.prepare, red).result(), thread.submit(answerer.prepare, blue).result()
    assert isinstance(ready_red, PreparedClip) and ready_red.prepared_bytes > 0
    p_yes = lambda clip: [a.p_yes for a in answerer.answer(clip, questions)]  # noqa: E731
    assert p_yes(ready_red) == p_yes(red) and p_yes(ready_blue) == p_yes(blue) and p_yes(red) != p_yes(blue)
    # the red clip carrying the blue clip's tensors is answered as blue: answer used them, not its frames
    assert p_yes(dataclasses.replace(ready_red, encoding=ready_blue.encoding)) == p_yes(blue)


@pytest.mark.slow
def test_each_ray_worker_decodes_its_lane_ahead_and_the_results_are_those_in_one_process(tiny_model_dir, tmp_path):
    from fingereval.config import ScoringConfig
    from fingereval.ray_batch import run_manifest_ray

    names = [f"v{i}.mp4" for i in range(5)]
    for i, name in enumerate(names):
        _video(tmp_path, name, i)
    manifest = _manifest(tmp_path, [(Path(n).stem, n) for n in names])
    notes = tmp_path / "notes"
    notes.mkdir()
    config = ScoringConfig(model=str(tiny_model_dir), answerer="recording:NotesAhead", size=VC.size,
                           max_frames=VC.max_frames, answerer_options={"where": str(notes)}, decode_ahead=2)
    run_manifest(config.evaluator(), manifest, tmp_path / "local.jsonl", decode_ahead=0, progress=False,
                 on_event=lambda m: None)
    for note in notes.iterdir():
        note.unlink()
    with local_ray(num_cpus=2), time_limit(240, "Ray workers decoding ahead"):
        s = run_manifest_ray(config, manifest, tmp_path / "ray.jsonl", workers=2, progress=False,
                             on_event=lambda m: None)
    assert (s.done, s.failed) == (5, 0)
    local, remote = (_records(tmp_path / f) for f in ("local.jsonl", "ray.jsonl"))
    assert sorted(r["id"] for r in remote) == [Path(n).stem for n in names]  # each once
    by_id = {r["id"]: [q["p_yes"] for q in r["questions"]] for r in local}
    for r in remote:
        assert [q["p_yes"] for q in r["questions"]] == pytest.approx(by_id[r["id"]], abs=1e-6)
    # each actor's first video is decoded in line; the next in each lane (v2 after v0, v3 after v1) ahead, by
    # the actor that then scored it
    noted = {p.name.split(".mp4")[0] + ".mp4" for p in notes.iterdir()}
    assert {"v2.mp4", "v3.mp4"} <= noted and not {"v0.mp4", "v1.mp4"} & noted
