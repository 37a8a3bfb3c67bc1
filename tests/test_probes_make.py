"""Making probe sets on disk: files, determinism, relative paths, the CLI and the train/held-out split."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from fingereval.data import load_instruct
from fingereval.dimensions import DIMENSION_KEYS
from fingereval.probes import make_probes, split_probes
from fingereval.cli.probes import probes_app
from fingereval.probes.render import render_frames, write_mp4
from fingereval.probes.world import plan_probe
from fingereval.video import VideoConfig, load_video

N = 8


def _decode(path: Path) -> np.ndarray:
    return load_video(path, VideoConfig(fps=2.0, max_frames=32, size=112)).frames


@pytest.fixture(scope="module")
def twice(tmp_path_factory) -> tuple[Path, Path, Path]:
    """The same set made twice, and once with another seed."""
    base = tmp_path_factory.mktemp("make")
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        make_probes(base / name, N, seed=seed)
    return base / "a", base / "b", base / "c"


def test_writes_videos_questions_ratings_and_manifest(twice):
    root = twice[0]
    videos = sorted((root / "videos").glob("*.mp4"))
    assert [v.name for v in videos] == [f"p{i:04d}.mp4" for i in range(N)]
    qa = [json.loads(line) for line in (root / "qa.jsonl").read_text().splitlines()]
    assert {r["video_id"] for r in qa} == {v.stem for v in videos}
    assert all(r["video"] == f"videos/{r['video_id']}.mp4" for r in qa)
    ratings = [json.loads(line) for line in (root / "ratings.jsonl").read_text().splitlines()]
    assert [r["video_id"] for r in ratings] == [v.stem for v in videos]
    for r in ratings:
        assert set(DIMENSION_KEYS) | {"overall", "video", "prompt", "video_id", "defects"} == set(r)
        assert r["prompt"] == next(q["prompt"] for q in qa if q["video_id"] == r["video_id"])
        assert isinstance(r["defects"], str)  # text, so rating loaders skip it instead of reading a score
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["n"] == N and manifest["seed"] == 11 and set(manifest["question_forms"]) == {r["form"] for r in qa}


def test_videos_are_small_two_fps_clips(twice):
    frames = _decode(twice[0] / "videos" / "p0000.mp4")
    assert frames.shape == (8, 112, 112, 3)  # 4 s at 2 fps


def test_same_seed_same_files_and_frames(twice):
    a, b, c = twice
    for name in ("qa.jsonl", "ratings.jsonl"):
        assert (a / name).read_bytes() == (b / name).read_bytes()
        assert (a / name).read_bytes() != (c / name).read_bytes()
    for i in (0, N - 1):
        video = f"videos/p{i:04d}.mp4"
        assert np.array_equal(_decode(a / video), _decode(b / video))
        assert not np.array_equal(_decode(a / video), _decode(c / video))


def test_a_smaller_set_is_a_prefix_of_a_larger_one(twice, tmp_path):
    make_probes(tmp_path, 3, seed=11)
    small = (tmp_path / "qa.jsonl").read_text().splitlines()
    large = (twice[0] / "qa.jsonl").read_text().splitlines()
    assert small == large[: len(small)]


def test_decoded_frames_match_the_rendered_ones(twice):
    """H.264 at high quality keeps the colours: the model sees what the plan drew."""
    spec = plan_probe(11, 0)
    rendered = render_frames(spec)[2::4].astype(np.float32)  # the frames 2 fps sampling picks
    decoded = _decode(twice[0] / "videos" / "p0000.mp4").astype(np.float32)
    assert np.abs(decoded - rendered).mean() < 3.0


def test_mpeg4_fallback_keeps_colours_clean(tmp_path):
    frames = render_frames(plan_probe(0, 1))
    path = write_mp4(tmp_path / "m.mp4", frames, fps=8, codec="mpeg4")
    decoded = _decode(path).astype(np.float32)
    assert np.abs(decoded - frames[2::4].astype(np.float32)).mean() < 4.0


def test_moved_folder_still_loads(twice, tmp_path):
    moved = tmp_path / "elsewhere" / "probes"
    shutil.copytree(twice[0], moved)
    records = load_instruct(moved / "qa.jsonl")
    assert records and all(Path(r.video).is_file() and Path(r.video).is_relative_to(moved) for r in records)
    assert _decode(Path(records[0].video)).shape[0] == 8


def test_split_keeps_each_video_on_one_side(twice):
    train_path, held_path = split_probes(twice[0], held_out=0.25, seed=0)
    train, held = load_instruct(train_path), load_instruct(held_path)
    train_videos, held_videos = {r.video for r in train}, {r.video for r in held}
    assert not train_videos & held_videos
    assert len(held_videos) == 2 and len(train_videos) == N - 2
    assert len(train) + len(held) == len(load_instruct(twice[0] / "qa.jsonl"))


def test_cli_make(tmp_path):
    app = typer.Typer()
    app.add_typer(probes_app, name="probes")
    result = CliRunner().invoke(app, ["probes", "make", str(tmp_path / "out"), "--n", "3", "--seed", "4", "--held-out", "0.34"])
    assert result.exit_code == 0, result.output
    for name in ("qa.jsonl", "ratings.jsonl", "manifest.json", "qa_train.jsonl", "qa_heldout.jsonl"):
        assert (tmp_path / "out" / name).is_file()
    assert "3 videos" in result.output
    bad = CliRunner().invoke(app, ["probes", "make", str(tmp_path / "bad"), "--n", "2", "--seconds", "3.3"])
    assert bad.exit_code != 0 and "multiple of" in bad.output


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="even"):
        make_probes(tmp_path, 2, size=111)
    with pytest.raises(ValueError, match="at least 1"):
        make_probes(tmp_path, 0)
