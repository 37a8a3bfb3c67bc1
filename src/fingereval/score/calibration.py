"""Calibration of the answer slot: p_yes that means what it says.

The slot's log-odds z = log P(yes) - log P(no) (= logit p_yes) are mapped to sigmoid(z / T + b): a
temperature T (T > 1 softens an over-confident model) and a bias b (a model that says yes too often).
Fitted by maximum likelihood on human answers (`fingereval calibrate`), on videos the check never sees;
applied before polarity and aggregation, so every score and dimension uses calibrated probabilities.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fingereval.errors import DataError
from fingereval.io import read_json, validation_message

EPS = 1e-7  # p_yes of exactly 0 or 1 (a saturated slot) keeps a finite log-odds


class Calibration(BaseModel):
    """A fitted temperature and bias, with where they come from."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())

    temperature: float = Field(gt=0, allow_inf_nan=False)
    bias: float = Field(0.0, allow_inf_nan=False)
    model: str | None = None  # the model they were fitted for
    fitted_on: dict | None = None  # {"videos", "questions", "data"}

    def apply(self, p_yes: float) -> float:
        z = math.log(max(p_yes, EPS)) - math.log(max(1.0 - p_yes, EPS))
        # the logistic as tanh, which never overflows (exp does for a tiny temperature or a huge bias from a file)
        return 0.5 * (1.0 + math.tanh((z / self.temperature + self.bias) / 2.0))

    def record(self, source: str | None = None) -> dict:
        """What a result carries to say that it was calibrated, and with what."""
        return {"temperature": self.temperature, "bias": self.bias, "source": source, "model": self.model}

    def save(self, path: str | Path) -> Path:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")
        return p


def load_calibration(path: str | Path) -> Calibration:
    p = Path(path)
    hint = "write one with `fingereval calibrate`"
    raw = read_json(p, "calibration file", hint)
    if not isinstance(raw, dict):
        raise DataError(f"calibration file {p}: expected a JSON object with temperature and bias; {hint}")
    try:
        return Calibration.model_validate(raw)
    except ValidationError as e:
        raise DataError(f"calibration file {p}: {validation_message(e, limit=1)}; {hint}") from None


def log_odds(p_yes: Sequence[float]) -> np.ndarray:
    p = np.clip(np.asarray(p_yes, dtype=float), EPS, 1 - EPS)
    return np.log(p) - np.log1p(-p)


def fit_calibration(p_yes: Sequence[float], human_yes: Sequence[bool]) -> tuple[float, float]:
    """(temperature, bias) minimising the negative log-likelihood of the human answers."""
    from scipy.optimize import minimize

    z, y = log_odds(p_yes), np.asarray(human_yes, dtype=float)
    if len(z) < 2 or y.min() == y.max():
        raise DataError(f"calibration needs human answers of both kinds; got {int(y.sum())} yes of {len(y)}")

    def nll(params: np.ndarray) -> float:
        logits = z * math.exp(-params[0]) + params[1]  # params[0] = log T keeps T positive
        return float(np.mean(np.logaddexp(0.0, logits) - y * logits))

    best = minimize(nll, x0=np.zeros(2), method="L-BFGS-B", bounds=[(-6.0, 6.0), (-20.0, 20.0)])
    return float(math.exp(best.x[0])), float(best.x[1])
