"""The dimension-weights file that scoring reads (written by `fingereval fit-weights`)."""
from __future__ import annotations

import math
from pathlib import Path

from fingereval.errors import DataError
from fingereval.io import read_json
from fingereval.rubric import Rubric, default_rubric


def load_weights(path: str | Path, rubric: Rubric | None = None) -> dict[str, float]:
    """Read a weights file: {"weights": {dim: w}, ...} as fit-weights writes it, or a bare {dim: w}.
    Returns a weight for each dimension of the rubric (default FingER's five; missing ones 0), normalised to
    sum 1; a dimension the rubric does not have is an error."""
    rubric = rubric or default_rubric()
    p = Path(path)
    raw = read_json(p, "weights file", "write one with `fingereval fit-weights`")
    if isinstance(raw, dict) and isinstance(raw.get("weights"), dict):
        raw = raw["weights"]
    if not isinstance(raw, dict) or not raw:
        raise DataError(f"weights file {p}: expected {{\"weights\": {{dimension: weight}}}} or {{dimension: weight}}")
    weights: dict[str, float] = {}
    for name, value in raw.items():
        try:
            key = rubric.normalize(name)
        except DataError as e:
            raise DataError(f"weights file {p}: {e}") from None
        if key in weights:
            raise DataError(f"weights file {p}: {key} is given twice")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise DataError(f"weights file {p}: weight of {name!r} must be a finite number, got {value!r}")
        if value < 0:
            raise DataError(f"weights file {p}: weight of {name!r} is negative ({value}); weights must be >= 0")
        weights[key] = float(value)
    largest = max(weights.values())
    if largest == 0:
        raise DataError(f"weights file {p}: every weight is zero")
    scaled = {k: weights.get(k, 0.0) / largest for k in rubric.keys}  # first to <= 1: 1e308 + 1e308 is inf
    total = sum(scaled.values())
    return {k: w / total for k, w in scaled.items()}
