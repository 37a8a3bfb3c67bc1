"""One bootstrap for fingereval.measure (items or whole videos) and one ECE binning, checked against closed forms."""
from __future__ import annotations

import numpy as np
import pytest

from fingereval.measure.calibration_check import BINS, bin_index, calibration_report, ece, reliability
from fingereval.measure.clusters import accuracy_ci_by_video
from fingereval.measure.metrics import MetricInputError, bootstrap_ci


def test_bins_are_equal_width_and_one_falls_in_the_last():
    p = np.array([0.0, 1 / 15 - 1e-9, 1 / 15, 0.5, 14 / 15, 1.0])
    assert bin_index(p).tolist() == [0, 0, 1, 7, 14, 14]
    assert BINS == 15


def test_ece_is_the_count_weighted_gap_of_the_reliability_bins():
    rng = np.random.default_rng(4)
    p = rng.random(400)
    y = (rng.random(400) < p ** 2).astype(float)
    bins = reliability(p, y)
    assert sum(b["count"] for b in bins) == 400
    assert ece(p, y) == pytest.approx(sum(b["count"] * abs(b["p_mean"] - b["frac_yes"]) for b in bins) / 400)


def _whole_videos(videos: int = 10, per_video: int = 10):
    """Videos 0-4: every question yes; videos 5-9: every question no; p_yes 0.9 throughout."""
    names = [f"v{v}" for v in range(videos) for _ in range(per_video)]
    y = np.array([float(v < videos // 2) for v in range(videos) for _ in range(per_video)])
    return names, np.full(len(names), 0.9), y


def test_intervals_resample_whole_videos():
    """A resample of videos holds k of the 5 yes-videos, k ~ Binomial(10, 1/2), so ECE = |0.9 - k/10| has 2.5 %
    and 97.5 % points 0.1 (k = 8) and 0.7 (k = 2). Resampling the 100 questions instead gives about [0.3, 0.5]."""
    names, p, y = _whole_videos()
    report = calibration_report(names, p, y, n_resamples=2000, seed=1)
    low, high = report["ece_ci95"]
    assert report["ece"] == pytest.approx(0.4)
    assert low == pytest.approx(0.1, abs=1e-9) and high == pytest.approx(0.7, abs=1e-9)
    by_question = bootstrap_ci(ece, p, y, n_resamples=2000, seed=1)
    assert 0.25 < by_question.low < 0.35 and 0.45 < by_question.high < 0.55
    hits = y == 1
    acc = accuracy_ci_by_video(names, hits, n_resamples=2000, seed=1)
    assert acc.value == 0.5 and acc.low == pytest.approx(0.2) and acc.high == pytest.approx(0.8)


def test_cluster_bootstrap_needs_two_clusters():
    with pytest.raises(MetricInputError, match="2 clusters"):
        bootstrap_ci(np.mean, np.ones(5), clusters=["a"] * 5)
    with pytest.raises(MetricInputError, match="length mismatch"):
        bootstrap_ci(np.mean, np.ones(5), clusters=["a", "b"])
    assert accuracy_ci_by_video(["a"] * 3, [True, False, True]) is None
    assert calibration_report(["a"] * 3, [0.2, 0.4, 0.9], [False, True, True])["ece_ci95"] is None
