"""Agreement between our scores and human judgements: correlations, pairwise accuracy, yes/no accuracy,
and bootstrap confidence intervals for any of them.

Definitions follow REFERENCE.md ("Metric definitions"). Every function checks its inputs and raises
MetricInputError (both a DataError, so the CLI reports it as one line, and a ValueError) naming what
is wrong: NaN, length mismatch, too few items, constant input.
"""
from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import optimize, special, stats

from fingereval.errors import DataError
from fingereval.rubric import Rubric, default_rubric
from fingereval.schema import normalize_yes_no

# Differences closer than this (relative to the largest |difference|, with an absolute floor) are the
# same threshold candidate: 0.1 and 0.09999999999999998 must not be two different eps values.
TIE_RTOL = 1e-9
TIE_ATOL = 1e-12


# ----------------------------------------------------------------------------------------------
# input checks


class MetricInputError(DataError, ValueError):
    """Inputs a metric cannot be computed on."""


def _as_vector(values: Iterable[float], name: str) -> np.ndarray:
    try:
        arr = np.asarray(values if isinstance(values, np.ndarray) else list(values), dtype=float)
    except (TypeError, ValueError) as e:
        raise MetricInputError(f"{name}: expected numbers ({e})") from None
    if arr.ndim != 1:
        raise MetricInputError(f"{name}: expected a flat list of numbers, got shape {arr.shape}")
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise MetricInputError(f"{name}: {bad.size} value(s) are NaN or infinite (first at index {bad[0]}); "
                               "drop those items before measuring")
    return arr


def _check_vectors(min_items: int = 2, **named: Iterable[float]) -> list[np.ndarray]:
    arrays = [_as_vector(v, k) for k, v in named.items()]
    lengths = {k: len(a) for k, a in zip(named, arrays)}
    if len(set(lengths.values())) > 1:
        raise MetricInputError("length mismatch: " + ", ".join(f"{k} has {n}" for k, n in lengths.items()))
    n = len(arrays[0])
    if n < min_items:
        raise MetricInputError(f"need at least {min_items} items to measure agreement, got {n}")
    return arrays


# ----------------------------------------------------------------------------------------------
# correlations


@dataclass(frozen=True)
class Correlations:
    """Correlation of model scores with human scores. `plcc` is on raw scores; `plcc_logistic` after a
    monotonic 4-parameter logistic fit of model scores to human scores, negative when the fitted curve
    falls (None when the fit failed, with the reason in `logistic_note`). The fit runs on first access
    of `plcc_logistic`: it costs far more than the rest, and a bootstrap of SRCC never needs it."""

    srcc: float
    krcc: float
    plcc: float
    n: int
    human: np.ndarray = field(repr=False, compare=False)
    model: np.ndarray = field(repr=False, compare=False)

    @functools.cached_property
    def _logistic(self) -> tuple[float | None, str | None]:
        if self.n < LOGISTIC_PARAMETERS:  # curve_fit raises TypeError for fewer points than parameters
            return None, f"needs >= {LOGISTIC_PARAMETERS} items for the logistic fit, got {self.n}"
        try:
            return _logistic_plcc(self.model, self.human), None
        except (RuntimeError, ValueError) as e:  # curve_fit raises RuntimeError when it gives up
            return None, f"logistic fit failed ({e}); use the raw plcc"

    @property
    def plcc_logistic(self) -> float | None:
        return self._logistic[0]

    @property
    def logistic_note(self) -> str | None:
        return self._logistic[1]

    def as_dict(self) -> dict[str, Any]:
        return {"srcc": self.srcc, "krcc": self.krcc, "plcc": self.plcc, "plcc_logistic": self.plcc_logistic,
                "n": self.n, "logistic_note": self.logistic_note}


LOGISTIC_PARAMETERS = 4  # of logistic4: the fit needs at least this many points


def logistic4(x: np.ndarray, b1: float, b2: float, b3: float, b4: float) -> np.ndarray:
    """The VQEG 4-parameter logistic: monotonic in x, from b2 (x -> -inf) to b1 (x -> +inf)."""
    return (b1 - b2) * special.expit((x - b3) / abs(b4)) + b2


def fit_logistic4(model: np.ndarray, human: np.ndarray) -> np.ndarray:
    """Fit logistic4 mapping model scores to human scores; returns the fitted model scores.
    Raises RuntimeError when the fit does not converge to a finite, non-constant mapping."""
    rising = np.corrcoef(model, human)[0, 1] >= 0
    top, bottom = (human.max(), human.min()) if rising else (human.min(), human.max())
    p0 = [top, bottom, float(np.mean(model)), float(np.std(model)) or 1.0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optimize.OptimizeWarning)
        params, _ = optimize.curve_fit(logistic4, model, human, p0=p0, maxfev=10000)
    fitted = logistic4(model, *params)
    if not np.all(np.isfinite(fitted)) or np.ptp(fitted) == 0:
        raise RuntimeError("the fitted curve is flat or not finite")
    return fitted


def _logistic_plcc(model: np.ndarray, human: np.ndarray) -> float:
    """PLCC of the fitted scores with human scores, signed by the fit's direction: a fit that falls with
    the model scores would otherwise turn an evaluator that disagrees with humans into a positive PLCC."""
    fitted = fit_logistic4(model, human)
    falling = np.corrcoef(model, fitted)[0, 1] < 0
    r = float(stats.pearsonr(fitted, human)[0])
    return -r if falling else r


def correlations(human: Iterable[float], model: Iterable[float]) -> Correlations:
    """SRCC (Spearman), KRCC (Kendall tau-b), PLCC raw, and (lazily) PLCC after the logistic fit."""
    h, m = _check_vectors(human=human, model=model)
    for name, arr in (("human", h), ("model", m)):
        if np.ptp(arr) == 0:
            raise MetricInputError(f"{name} scores are all equal ({arr[0]:g}): a correlation is undefined")
    return Correlations(
        srcc=float(stats.spearmanr(h, m)[0]),
        krcc=float(stats.kendalltau(h, m, variant="b")[0]),
        plcc=float(stats.pearsonr(h, m)[0]),
        n=len(h),
        human=h,
        model=m,
    )


# ----------------------------------------------------------------------------------------------
# pairwise accuracy


@dataclass(frozen=True)
class PairwiseAccuracy:
    """`accuracy` over `n` pairs. With ties, `eps` is the model's tie threshold (|d| <= eps is a tie)."""

    accuracy: float
    n: int
    ties: bool
    eps: float | None = None

    def __float__(self) -> float:
        return self.accuracy

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _human_labels(human: np.ndarray) -> np.ndarray:
    bad = np.flatnonzero(~np.isin(human, (-1.0, 0.0, 1.0)))
    if bad.size:
        raise MetricInputError(f"human labels must be +1 (first better), -1 (second better) or 0 (tie); "
                               f"index {bad[0]} is {human[bad[0]]:g}")
    return human.astype(int)


def _tolerance(d: np.ndarray) -> float:
    return TIE_ATOL + TIE_RTOL * float(np.abs(d).max())


def _group_abs_differences(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group |d| values equal up to float noise. Returns (group index per item, group threshold)
    where the threshold is the largest |d| in the group, so |d_i| <= threshold[group_i] holds exactly."""
    a = np.abs(d)
    order = np.argsort(a, kind="stable")
    sorted_a = a[order]
    starts_new = np.diff(sorted_a) > _tolerance(d)
    group_sorted = np.concatenate(([0], np.cumsum(starts_new)))
    group = np.empty_like(group_sorted)
    group[order] = group_sorted
    threshold = np.zeros(int(group_sorted[-1]) + 1)
    np.maximum.at(threshold, group_sorted, sorted_a)
    return group, threshold


def tie_calibrated_accuracy(h: np.ndarray, d: np.ndarray) -> tuple[float, float]:
    """Best accuracy over eps in {0} and every distinct |d|, and the smallest eps that reaches it.

    O(n log n): after sorting |d| into groups, raising eps past group k turns that group's pairs from
    sign(d) predictions into tie predictions, so accuracy(k) is a difference of two cumulative sums.
    """
    group, threshold = _group_abs_differences(d)
    n_groups = len(threshold)
    sign = np.sign(d).astype(int)
    right_if_tie = np.bincount(group, weights=(h == 0), minlength=n_groups)
    right_if_sign = np.bincount(group, weights=(sign == h), minlength=n_groups)
    # candidate k = -1 (eps = 0) predicts no ties; accuracy(k) = ties right in groups <= k + signs right above
    correct = np.concatenate(([0.0], np.cumsum(right_if_tie))) + (
        right_if_sign.sum() - np.concatenate(([0.0], np.cumsum(right_if_sign))))
    eps_for = np.concatenate(([0.0], threshold))
    if threshold[0] <= _tolerance(d):  # some |d| is 0 up to float noise: eps = 0 already calls them ties
        correct, eps_for = correct[1:], eps_for[1:]
    best = int(np.argmax(correct))  # first maximum: the smallest eps with the best accuracy
    return float(correct[best] / len(h)), float(eps_for[best])


def pairwise_accuracy(human: Iterable[float], first: Iterable[float], second: Iterable[float],
                      ties: bool = True, eps: float | None = None) -> PairwiseAccuracy:
    """Share of pairs where the model's preference matches the human one.

    `human`: +1 first better, -1 second better, 0 tie. `first`/`second`: model scores of the two items.
    ties=True: model label is 0 when |s_first - s_second| <= eps, else the sign; eps is calibrated
      (REFERENCE "tau") unless given. eps=0 means the model never predicts a tie except for equal scores
      (equal up to float noise).
    ties=False: human ties dropped; a model tie (equal scores) counts as wrong (REFERENCE "diff").
    """
    h_raw, s1, s2 = _check_vectors(min_items=1, human=human, first=first, second=second)
    h = _human_labels(h_raw)
    d = s1 - s2
    if not ties:
        keep = h != 0
        if not keep.any():
            raise MetricInputError("every pair is a human tie: accuracy without ties is undefined")
        h, d = h[keep], d[keep]
        agree = (np.sign(d).astype(int) == h)  # sign 0 never equals +-1: a model tie is wrong
        return PairwiseAccuracy(float(agree.mean()), n=len(h), ties=False)
    if eps is None:
        accuracy, found = tie_calibrated_accuracy(h, d)
        return PairwiseAccuracy(accuracy, n=len(h), ties=True, eps=found)
    if not eps >= 0:
        raise MetricInputError(f"eps must be >= 0, got {eps}")
    predicted = np.where(np.abs(d) <= eps + _tolerance(d), 0, np.sign(d).astype(int))
    return PairwiseAccuracy(float((predicted == h).mean()), n=len(h), ties=True, eps=float(eps))


# ----------------------------------------------------------------------------------------------
# yes/no accuracy


@dataclass(frozen=True)
class QAAccuracy:
    accuracy: float
    n: int
    per_dimension: dict[str, dict[str, float | int]] = field(default_factory=dict)

    def __float__(self) -> float:
        return self.accuracy

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _field(record: Any, *names: str) -> Any:
    for name in names:
        value = record.get(name) if isinstance(record, Mapping) else getattr(record, name, None)
        if value is not None:
            return value
    return None


def predicted_answer(record: Any) -> str:
    """The model's answer: p_yes >= 0.5 means yes (REFERENCE definition); else the text `answer`."""
    p_yes = _field(record, "p_yes")
    if p_yes is not None:
        p = float(p_yes)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p_yes must lie in [0, 1], got {p_yes!r}")
        return "yes" if p >= 0.5 else "no"
    answer = _field(record, "answer", "predicted", "prediction")
    if answer is None:
        raise ValueError("no prediction: give `p_yes` or `answer`")
    return normalize_yes_no(answer)


def qa_accuracy(records: Iterable[Any], rubric: Rubric | None = None) -> QAAccuracy:
    """Yes/no accuracy overall and per dimension (the rubric's; default FingER's five).

    Each record (a mapping or an object) has `dimension`, the human answer (`human_answer`, or `human`
    or `label`) and the prediction (`p_yes`, or `answer`).
    """
    rubric = rubric or default_rubric()
    hits: dict[str, list[bool]] = {}
    for i, record in enumerate(records):
        try:
            dim = rubric.normalize(_field(record, "dimension"))
            human = _field(record, "human_answer", "human", "label")
            if human is None:
                raise ValueError("no human answer: give `human_answer`")
            hits.setdefault(dim, []).append(predicted_answer(record) == normalize_yes_no(human))
        except (ValueError, DataError) as e:
            raise MetricInputError(f"yes/no record {i}: {e}") from None
    n = sum(len(v) for v in hits.values())
    if n == 0:
        raise MetricInputError("no yes/no records to measure")
    per_dim = {dim: {"accuracy": float(np.mean(v)), "n": len(v)} for dim, v in hits.items()}
    return QAAccuracy(float(sum(sum(v) for v in hits.values()) / n), n=n, per_dimension=per_dim)


# ----------------------------------------------------------------------------------------------
# bootstrap


@dataclass(frozen=True)
class BootstrapCI:
    """Point estimate on all items, percentile interval over resamples."""

    value: float | None  # None when the metric is undefined on the full data
    low: float
    high: float
    confidence: float
    n_resamples: int  # resamples that gave a value (a resample can be degenerate, e.g. constant)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _to_values(result: Any) -> dict[str, float] | float:
    if isinstance(result, Mapping):
        return {k: (math.nan if v is None else float(v)) for k, v in result.items()}
    return math.nan if result is None else float(result)


def bootstrap_ci(metric_fn: Callable[..., Any], *arrays: Iterable[Any], n_resamples: int = 1000,
                 confidence: float = 0.95, seed: int = 0, clusters: Sequence[Any] | None = None) -> Any:
    """Percentile bootstrap: resample items (the same indices in every array), recompute the metric.

    The one bootstrap of fingereval.measure. With `clusters` (one label per item, e.g. its video) a resample
    draws clusters with replacement and takes all their items: a video's questions are not independent
    (fingereval.measure.clusters). `metric_fn(*arrays)` returns a number (or anything float() accepts, such as
    PairwiseAccuracy): the result is one BootstrapCI. If it returns a mapping of numbers, the result is a dict
    of BootstrapCI, one per key, from the same resamples. Resamples where the metric is undefined (DataError,
    or None/NaN) are skipped; more than half undefined is an error.
    """
    if not 0 < confidence < 1:
        raise MetricInputError(f"confidence must lie in (0, 1), got {confidence}")
    if n_resamples < 1:
        raise MetricInputError(f"n_resamples must be at least 1, got {n_resamples}")
    if not arrays:
        raise MetricInputError("bootstrap_ci needs at least one array of items")
    data = [np.asarray(a) for a in arrays]
    lengths = [len(a) for a in data] + ([len(clusters)] if clusters is not None else [])
    if len(set(lengths)) > 1:
        raise MetricInputError(f"length mismatch between the arrays to resample: {lengths}")
    n = lengths[0]
    draw = _item_draws(n) if clusters is None else _cluster_draws(clusters)

    point = _to_values(metric_fn(*data))
    rng = np.random.default_rng(seed)
    samples: list[dict[str, float] | float] = []
    for _ in range(n_resamples):  # stats.bootstrap cannot resample ragged clusters; this loop does both
        idx = draw(rng)
        try:
            samples.append(_to_values(metric_fn(*(a[idx] for a in data))))
        except DataError:  # a degenerate resample (e.g. constant): skip it
            samples.append(math.nan if not isinstance(point, dict) else {k: math.nan for k in point})

    alpha = (1 - confidence) / 2

    def interval(value: float, values: np.ndarray, what: str) -> BootstrapCI:
        ok = values[np.isfinite(values)]
        if len(ok) < n_resamples / 2:
            raise MetricInputError(f"{what} is undefined in {n_resamples - len(ok)} of {n_resamples} resamples "
                                   f"(too few items or too little variation among {n} items)")
        low, high = np.quantile(ok, [alpha, 1 - alpha])
        return BootstrapCI(value if math.isfinite(value) else None, float(low), float(high), confidence, len(ok))

    if isinstance(point, dict):
        return {k: interval(point[k], np.array([s[k] for s in samples]), k) for k in point}  # type: ignore[index]
    return interval(point, np.array(samples, dtype=float), "the metric")


def _item_draws(n: int) -> Callable[[np.random.Generator], np.ndarray]:
    if n < 2:
        raise MetricInputError(f"need at least 2 items to bootstrap, got {n}")
    return lambda rng: rng.integers(0, n, size=n)


def _cluster_draws(clusters: Sequence[Any]) -> Callable[[np.random.Generator], np.ndarray]:
    keys, which = np.unique(np.asarray(clusters, dtype=str), return_inverse=True)
    if len(keys) < 2:
        raise MetricInputError(f"need at least 2 clusters to bootstrap, got {len(keys)}")
    members = [np.flatnonzero(which == k) for k in range(len(keys))]
    return lambda rng: np.concatenate([members[k] for k in rng.integers(0, len(keys), len(keys))])
