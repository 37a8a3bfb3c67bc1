"""Pointwise human ratings (VideoFeedback style: per video, 1-4 per dimension and optionally overall)
against our scores: SRCC / KRCC / PLCC per dimension with bootstrap CIs."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fingereval.errors import DataError
from fingereval.measure.join import VideoJoin
from fingereval.measure.metrics import LOGISTIC_PARAMETERS, bootstrap_ci, correlations
from fingereval.measure.records import read_json_records, require_fields
from fingereval.measure.results import MAX_EXAMPLES, OVERALL, ResultsIndex, score_of, targets
from fingereval.rubric import Rubric, default_rubric
from fingereval.schema import VideoResult

# Fewer videos than this leave a target undefined: the 4-parameter logistic fit needs 4 points, and the
# bootstrap of 2 or 3 videos is mostly constant resamples.
MIN_VIDEOS = LOGISTIC_PARAMETERS
CORRELATION_KEYS = ("srcc", "krcc", "plcc", "plcc_logistic")

# Fields a ratings line may carry besides scores; any other numeric field must name a dimension.
METADATA_FIELDS = frozenset({"id", "video", "video_path", "prompt", "model", "source", "split", "name"})


@dataclass(frozen=True)
class HumanRating:
    video: str
    scores: dict[str, float] = field(default_factory=dict)  # target (overall or dimension) -> score


def _number(value: Any, where: str, key: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DataError(f"{where}: {key} must be a number or null, got {value!r}")
    return float(value)


def load_ratings(path: str | Path, rubric: Rubric | None = None) -> list[HumanRating]:
    """Read human ratings: a JSONL (or JSON list) of {"video", <dimension>: score, ..., "overall"?}, the
    dimensions the rubric's (default: FingER's five)."""
    rubric = rubric or default_rubric()
    ratings = []
    for where, record in read_json_records(path, "ratings file"):
        where = f"{path} {where}"
        require_fields(record, ("video",), where)
        scores: dict[str, float] = {}
        for key, value in record.items():
            if key in METADATA_FIELDS:
                continue
            target = _target_of(key, rubric)
            if target is None:
                if isinstance(value, str):  # other text fields (a caption, a model name) are not scores
                    continue
                raise DataError(f"{where}: {key!r} is not a dimension: use one of overall, {', '.join(rubric.keys)} "
                                "(or give --rubric the rubric that has it)")
            if target in scores:
                raise DataError(f"{where}: {target} is given twice (as {key!r} and another spelling)")
            number = _number(value, where, key)
            if number is not None:
                scores[target] = number
        if not scores:
            raise DataError(f"{where}: no scores; give the dimension keys and optionally overall")
        ratings.append(HumanRating(video=str(record["video"]), scores=scores))
    return ratings


def _target_of(key: str, rubric: Rubric) -> str | None:
    if key.strip().lower() == OVERALL:
        return OVERALL
    try:
        return rubric.normalize(key)
    except DataError:
        return None


def _correlation_values(human: np.ndarray, model: np.ndarray) -> dict[str, float]:
    c = correlations(human, model)
    return {"srcc": c.srcc, "krcc": c.krcc, "plcc": c.plcc}


def undefined(n: int, reason: str) -> dict[str, Any]:
    """A target whose correlations cannot be measured: every value null, and why."""
    return {"n": n} | dict.fromkeys(CORRELATION_KEYS) | {"error": reason}


def measure_correlations(human: np.ndarray, model: np.ndarray, n_resamples: int, confidence: float,
                         seed: int) -> dict[str, Any]:
    """Correlations with CIs. The logistic-fit PLCC is given without a CI: a curve fit per resample is
    slow and some resamples do not converge. A target that cannot be measured comes back undefined."""
    n = int(len(human))
    if n < MIN_VIDEOS:
        return undefined(n, f"needs >= {MIN_VIDEOS} videos with both a human and a model score for the "
                            f"logistic fit and a bootstrap CI, got {n}")
    out: dict[str, Any] = {"n": n}
    try:
        point = correlations(human, model)
        cis = bootstrap_ci(_correlation_values, human, model, n_resamples=n_resamples, confidence=confidence,
                           seed=seed)
    except DataError as e:  # constant on this target, or too little variation to resample: keep the others
        return undefined(n, str(e))
    out |= {name: {"value": ci.value, "low": ci.low, "high": ci.high} for name, ci in cis.items()}
    out["plcc_logistic"] = point.plcc_logistic
    if point.logistic_note:
        out["logistic_note"] = point.logistic_note
    return out


def evaluate_pointwise(ratings: list[HumanRating], results: ResultsIndex, n_resamples: int = 1000,
                       confidence: float = 0.95, seed: int = 0, rubric: Rubric | None = None) -> dict[str, Any]:
    joined: list[tuple[HumanRating, VideoResult]] = []
    unjoined: list[str] = []
    join = VideoJoin(results.by_path, (r.video for r in ratings))
    for rating in ratings:
        result = join.find(rating.video)
        if result is None:
            unjoined.append(rating.video)
        else:
            joined.append((rating, result))
    if not joined:
        raise DataError(f"none of the {len(ratings)} rated videos has a result in {results.path} "
                        f"(for example {unjoined[0]})")
    metrics: dict[str, Any] = {}
    for target in targets(rubric):
        rows = [(r.scores.get(target), score_of(v, target)) for r, v in joined]
        rows = [(h, m) for h, m in rows if h is not None and m is not None]
        human, model = (np.array([row[i] for row in rows], dtype=float) for i in (0, 1))
        metrics[target] = measure_correlations(human, model, n_resamples, confidence, seed)
    return {
        "n_videos": len(ratings),
        "n_joined": len(joined),
        "n_unjoined": len(unjoined),
        "unjoined_examples": unjoined[:MAX_EXAMPLES],
        "join": join.summary(),
        "results": results.summary(),
        "bootstrap": {"resamples": n_resamples, "confidence": confidence, "seed": seed, "unit": "video"},
        "metrics": metrics,
    }
