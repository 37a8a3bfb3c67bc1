"""The one train/held-out split of videos (fingereval.data.split), as training data, probes and calibration use it."""
from __future__ import annotations

import hashlib

import pytest

from fingereval.data import InstructRecord, split_by_video
from fingereval.data.split import held_out_count, split_videos
from fingereval.measure.calibration_check import calibrate_rows
from fingereval.measure.calibration_check import split_videos as calibration_split


def _records(names: list[str], per_video: int = 2) -> list[InstructRecord]:
    return [InstructRecord(video=f"/data/{n}.mp4", video_id=n, prompt="p", dimension="text_alignment",
                           question=f"q{q}?", good_answer="yes", answer="yes", id=f"{n}-q{q}")
            for n in names for q in range(per_video)]


def _expected_held(videos: int, share: float) -> int:
    """The documented rule, written out: round(share x videos), at least 1 and at most videos - 1 from 2 videos."""
    if videos < 2:
        return 0
    n = round(share * videos)
    if share > 0:
        n = max(n, 1)
    return min(n, videos - 1)


@pytest.mark.parametrize("share", [0.0, 0.05, 0.3, 0.5, 0.6, 0.9, 0.95])
@pytest.mark.parametrize("videos", [1, 2, 3, 5, 20])
def test_the_fit_side_is_never_empty(videos, share):
    names = [f"v{i}" for i in range(videos)]
    fit, held = split_videos(names, share, seed=3)
    assert fit and not fit & held and fit | held == set(names)
    assert len(held) == held_out_count(videos, share) == _expected_held(videos, share)
    if videos >= 2 and share > 0:
        assert held


def test_the_split_ranks_by_a_seeded_hash_of_the_key():
    names = [f"clip{i}" for i in range(12)]
    ranked = sorted(names, key=lambda n: hashlib.sha256(f"7:{n}".encode()).hexdigest())
    assert split_videos(reversed(names), 0.25, seed=7)[1] == set(ranked[:3])
    assert split_videos(names, 0.25, seed=8)[1] != set(ranked[:3])
    with pytest.raises(ValueError, match="held_out"):
        split_videos(names, 1.0)


def test_training_data_and_calibration_split_alike():
    """The same videos (the records' ids are the calibration rows' video names) fall on the same sides."""
    names = [f"v{i}" for i in range(10)]
    train, held = split_by_video(_records(names), held_out=0.3, seed=2)
    fit, check = calibration_split(names, 0.3, seed=2)
    assert {r.video_id for r in held} == check and {r.video_id for r in train} == fit


def test_a_small_or_large_share_keeps_videos_to_fit():
    """Before the one rule: calibration held out both of two videos at 0.9 (nothing to fit on), and the
    training split held out the only video at 0.6 (nothing to train on)."""
    fit, check = calibration_split(["a", "b"], 0.9)
    assert len(fit) == 1 and len(check) == 1
    train, held = split_by_video(_records(["only"]), held_out=0.6)
    assert len(train) == 2 and held == []
    rows = [{"video": v, "p_yes": p, "human_answer": a} for v, p, a in
            [("a", 0.8, "yes"), ("a", 0.3, "no"), ("b", 0.7, "yes"), ("b", 0.4, "no")]]
    calibration, report = calibrate_rows(rows, held_out=0.9)
    assert report["fit"] == {"videos": 1, "questions": 2} and report["check"] == {"videos": 1, "questions": 2}
