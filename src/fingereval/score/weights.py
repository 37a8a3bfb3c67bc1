"""The dimension-weights file that scoring reads (written by `fingereval fit-weights`)."""
from __future__ import annotations

import math
from pathlib import Path

from fingereval.dimensions import DIMENSION_KEYS, normalize_dimension
from fingereval.errors import DataError
from fingereval.io import read_json


def load_weights(path: str | Path) -> dict[str, float]:
    """Read a weights file: {"weights": {dim: w}, ...} as fit-weights writes it, or a bare {dim: w}.
    Returns a weight for each of the five dimensions (missing ones 0), normalised to sum 1."""
    p = Path(path)
    raw = read_json(p, "weights file", "write one with `fingereval fit-weights`")
    if isinstance(raw, dict) and isinstance(raw.get("weights"), dict):
        raw = raw["weights"]
    if not isinstance(raw, dict) or not raw:
        raise DataError(f"weights file {p}: expected {{\"weights\": {{dimension: weight}}}} or {{dimension: weight}}")
    weights: dict[str, float] = {}
    for name, value in raw.items():
        try:
            key = normalize_dimension(name)
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
    scaled = {k: weights.get(k, 0.0) / largest for k in DIMENSION_KEYS}  # first to <= 1: 1e308 + 1e308 is inf
    total = sum(scaled.values())
    return {k: w / total for k, w in scaled.items()}
