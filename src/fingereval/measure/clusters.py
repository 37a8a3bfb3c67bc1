"""Bootstrap intervals that resample videos, not questions.

The questions of one video share its frames, its prompt and the model's reading of both (about 3.5
questions a video in FingER-Instruct), so they are not independent: resampling questions treats a
video's correlated answers as separate evidence and gives intervals that are too narrow.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats

from fingereval.measure.metrics import BootstrapCI, MetricInputError


def _share(correct: np.ndarray, total: np.ndarray, axis: int = -1) -> np.ndarray:
    return correct.sum(axis=axis) / total.sum(axis=axis)


def accuracy_ci_by_video(videos: Sequence[str], hits: Sequence[bool], n_resamples: int = 1000,
                         confidence: float = 0.95, seed: int = 0) -> BootstrapCI | None:
    """Accuracy (the share of hits over all questions) with a percentile interval over resampled videos.

    Each resample draws videos with replacement and takes all their questions, so the statistic is a
    ratio of sums over the drawn videos (correct / asked), not a mean of per-video accuracies.
    None with fewer than 2 videos: one video gives no spread to resample.
    """
    if len(videos) != len(hits):
        raise MetricInputError(f"length mismatch: {len(videos)} videos for {len(hits)} answers")
    keys, cluster = np.unique(np.asarray(videos, dtype=str), return_inverse=True)
    correct = np.bincount(cluster, weights=np.asarray(hits, dtype=float), minlength=len(keys))
    total = np.bincount(cluster, minlength=len(keys)).astype(float)
    if len(keys) < 2:
        return None
    result = stats.bootstrap((correct, total), _share, paired=True, vectorized=True, n_resamples=n_resamples,
                             confidence_level=confidence, method="percentile", rng=np.random.default_rng(seed))
    ci = result.confidence_interval
    return BootstrapCI(float(_share(correct, total)), float(ci.low), float(ci.high), confidence, n_resamples)
