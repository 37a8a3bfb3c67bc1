"""Bootstrap intervals that resample videos, not questions.

The questions of one video share its frames, its prompt and the model's reading of both (about 3.5
questions a video in FingER-Instruct), so they are not independent: resampling questions treats a
video's correlated answers as separate evidence and gives intervals that are too narrow. The resampling
itself is the one bootstrap of fingereval.measure.metrics (`bootstrap_ci(..., clusters=videos)`).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fingereval.measure.metrics import BootstrapCI, MetricInputError, bootstrap_ci


def accuracy_ci_by_video(videos: Sequence[str], hits: Sequence[bool], n_resamples: int = 1000,
                         confidence: float = 0.95, seed: int = 0) -> BootstrapCI | None:
    """Accuracy (the share of hits over all questions) with a percentile interval over resampled videos.

    Each resample draws videos with replacement and takes all their questions, so the statistic is a
    ratio of sums over the drawn videos (correct / asked), not a mean of per-video accuracies.
    None with fewer than 2 videos: one video gives no spread to resample.
    """
    if len(videos) != len(hits):
        raise MetricInputError(f"length mismatch: {len(videos)} videos for {len(hits)} answers")
    if len(set(videos)) < 2:
        return None
    return bootstrap_ci(np.mean, np.asarray(hits, dtype=float), n_resamples=n_resamples, confidence=confidence,
                        seed=seed, clusters=videos)
