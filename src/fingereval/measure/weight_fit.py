"""Dimension weights for the overall score, fitted to human judgements (the scoring code loads them with
fingereval.score.weights).

Two fits, both with non-negative weights normalised to sum 1 (a weighted mean of dimension scores):
- pointwise: non-negative least squares of the human overall rating on our dimension scores;
- pairs: logistic regression of the human preference on dimension-score differences (as VisionReward
  fits its checklist weights), ties dropped.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import optimize

from fingereval.errors import DataError
from fingereval.measure.join import VideoJoin
from fingereval.measure.pairs import PreferencePair, join_pairs
from fingereval.measure.pointwise import HumanRating
from fingereval.measure.results import OVERALL, ResultsIndex, dimension_columns
from fingereval.rubric import Rubric
from fingereval.schema import VideoResult


# Keeps the preference fit finite when the pairs are perfectly separable; small next to the likelihood.
L2_PENALTY = 1e-3


@dataclass(frozen=True)
class FittedWeights:
    weights: dict[str, float]
    fitted_on: str
    n: int
    method: str
    rubric: dict | None = None  # {name, sha256} of the rubric the scores were given with, when they say

    def as_dict(self) -> dict[str, Any]:
        return {"weights": self.weights, "fitted_on": self.fitted_on, "n": self.n, "method": self.method} | (
            {"rubric": self.rubric} if self.rubric else {})

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.as_dict(), indent=2) + "\n", encoding="utf-8")


def _normalise(raw: np.ndarray, dims: list[str], why_zero: str, keys: list[str]) -> dict[str, float]:
    raw = np.clip(raw, 0.0, None)
    total = float(raw.sum())
    if not total > 0:
        raise DataError(f"every fitted weight is zero: {why_zero}")
    fitted = dict(zip(dims, (float(w) / total for w in raw)))
    return {k: fitted.get(k, 0.0) for k in keys}


def _keys(results: ResultsIndex, rubric: Rubric | None) -> list[str]:
    """The dimensions weighed: the rubric's, else those the results hold (FingER's five by default)."""
    return [k for k, _ in dimension_columns(results.by_path.values(), rubric, f"results file {results.path}")]


def _rubric_record(results: list[VideoResult], rubric: Rubric | None) -> dict | None:
    if rubric is not None:
        return rubric.ref().model_dump()
    used = {(r.rubric.name, r.rubric.sha256) for r in results if r.rubric is not None}
    return dict(zip(("name", "sha256"), used.pop())) if len(used) == 1 else None


def _usable_dimensions(results: list[VideoResult], keys: list[str]) -> list[str]:
    """Dimensions scored on at least one video (a dimension never asked about gets weight 0)."""
    return [k for k in keys if any(r.dimensions.get(k) is not None for r in results)]


def _row(result: VideoResult, dims: list[str]) -> list[float] | None:
    values = [result.dimensions.get(k) for k in dims]
    return None if any(v is None for v in values) else [float(v) for v in values]


def nnls_weights(human: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Non-negative slopes of human ~ intercept + scores @ w. Centring both sides gives the free
    intercept (its optimum is the mean residual for any w), so only the slopes are constrained."""
    centred_scores = scores - scores.mean(axis=0)
    weights, _ = optimize.nnls(centred_scores, human - human.mean())
    return weights


def logistic_weights(human: np.ndarray, differences: np.ndarray) -> np.ndarray:
    """Non-negative w maximising sum log sigmoid(h * d @ w) for h in {+1, -1} (no intercept: swapping
    the two videos must flip the prediction)."""
    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        margin = human * (differences @ w)
        value = np.logaddexp(0.0, -margin).sum() + L2_PENALTY * w @ w
        grad = -(differences * (human * _sigmoid(-margin))[:, None]).sum(axis=0) + 2 * L2_PENALTY * w
        return float(value), grad

    start = np.full(differences.shape[1], 1.0)
    fit = optimize.minimize(loss, start, jac=True, method="L-BFGS-B", bounds=[(0.0, None)] * len(start))
    if not np.all(np.isfinite(fit.x)):  # L-BFGS-B may stop short of its tolerance; finite w is still a fit
        raise DataError(f"the preference fit failed: {fit.message}")
    return fit.x


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # tanh form: no overflow for large |x|


def fit_weights_pointwise(ratings: list[HumanRating], results: ResultsIndex, fitted_on: str,
                          rubric: Rubric | None = None) -> FittedWeights:
    join = VideoJoin(results.by_path, (r.video for r in ratings))
    pairs = [(r.scores.get(OVERALL), join.find(r.video)) for r in ratings]
    pairs = [(h, v) for h, v in pairs if h is not None and v is not None]
    if not pairs:
        raise DataError("no rated video has both a human `overall` rating and a result: "
                        "add `overall` to the ratings file, and check that the videos match")
    keys = _keys(results, rubric)
    dims = _usable_dimensions([v for _, v in pairs], keys)
    rows = [(h, _row(v, dims)) for h, v in pairs]
    rows = [(h, x) for h, x in rows if x is not None]
    if len(rows) < len(dims) + 1:
        raise DataError(f"only {len(rows)} videos have an overall rating and every dimension score; "
                        f"fitting {len(dims)} weights needs more")
    human = np.array([h for h, _ in rows])
    scores = np.array([x for _, x in rows])
    raw = nnls_weights(human, scores)
    weights = _normalise(raw, dims, "the human overall does not rise with any dimension score", keys)
    return FittedWeights(weights, fitted_on=fitted_on, n=len(rows), method="nnls on human overall",
                         rubric=_rubric_record([v for _, v in pairs], rubric))


def fit_weights_preferences(pairs: list[PreferencePair], results: ResultsIndex, fitted_on: str,
                            rubric: Rubric | None = None) -> FittedWeights:
    joined = [(p, a, b) for p, a, b in join_pairs(pairs, results).joined if p.human != 0]
    if not joined:
        raise DataError("no decided (non-tie) pair has both videos in the results")
    keys = _keys(results, rubric)
    dims = _usable_dimensions([v for _, a, b in joined for v in (a, b)], keys)
    rows = [(p.human, _row(a, dims), _row(b, dims)) for p, a, b in joined]
    rows = [(h, x, y) for h, x, y in rows if x is not None and y is not None]
    if len(rows) < len(dims) + 1:
        raise DataError(f"only {len(rows)} decided pairs have every dimension score for both videos; "
                        f"fitting {len(dims)} weights needs more")
    human = np.array([h for h, _, _ in rows], dtype=float)
    differences = np.array([np.subtract(x, y) for _, x, y in rows])
    raw = logistic_weights(human, differences)
    weights = _normalise(raw, dims, "no dimension score difference predicts the human preference", keys)
    return FittedWeights(weights, fitted_on=fitted_on, n=len(rows), method="logistic regression on preferences",
                         rubric=_rubric_record([v for _, a, b in joined for v in (a, b)], rubric))
