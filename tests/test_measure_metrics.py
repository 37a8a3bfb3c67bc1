"""Metrics against scipy, brute-force implementations and the REFERENCE.md worked example."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats

from fingereval.errors import DataError
from fingereval.measure import metrics as metrics_module
from fingereval.measure.metrics import (
    MetricInputError,
    bootstrap_ci,
    correlations,
    pairwise_accuracy,
    qa_accuracy,
)

# REFERENCE.md, "Worked example (VideoAlign's toy case)"
H = [1, -1, 0, 1, -1, 0, 1, -1, 0]
S_FIRST = [0.9, -0.7, 0.1, 0.8, -0.6, 0.2, 0.7, -0.5, 0.3]
S_SECOND = [0.1, -0.8, 0.5, 0.5, -0.3, 0.3, 0.4, -0.4, 0.4]


# ----------------------------------------------------------------------------------------------
# brute-force references


def brute_tie_calibrated(h, d):
    """O(n^2): try eps = 0 and every |d|; a pair is a model tie when |d| <= eps (up to float noise)."""
    h, d = np.asarray(h), np.asarray(d)
    tol = 1e-12 + 1e-9 * np.abs(d).max()
    best, best_eps = -1.0, None
    for eps in [0.0, *sorted(np.abs(d))]:
        predicted = np.where(np.abs(d) <= eps + tol, 0, np.sign(d))
        acc = float(np.mean(predicted == h))
        if acc > best + 1e-12:
            best, best_eps = acc, eps
    return best, best_eps


def brute_kendall_tau_b(x, y):
    concordant = discordant = ties_x = ties_y = 0
    for i, j in itertools.combinations(range(len(x)), 2):
        dx, dy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
        if dx == 0 and dy == 0:
            continue
        if dx == 0:
            ties_x += 1
        elif dy == 0:
            ties_y += 1
        elif dx == dy:
            concordant += 1
        else:
            discordant += 1
    return (concordant - discordant) / math.sqrt((concordant + discordant + ties_x) * (concordant + discordant + ties_y))


# ----------------------------------------------------------------------------------------------
# pairwise accuracy


def test_worked_example_with_ties():
    result = pairwise_accuracy(H, S_FIRST, S_SECOND)
    assert round(result.accuracy, 4) == 0.6667
    assert result.accuracy == pytest.approx(6 / 9)
    assert result.eps == pytest.approx(0.1, abs=1e-9)
    assert result.n == 9 and result.ties


def test_worked_example_without_ties():
    result = pairwise_accuracy(H, S_FIRST, S_SECOND, ties=False)
    assert round(result.accuracy, 4) == 0.8333
    assert result.n == 6 and not result.ties


def test_worked_example_never_predicting_a_tie():
    result = pairwise_accuracy(H, S_FIRST, S_SECOND, eps=0.0)
    assert round(result.accuracy, 4) == 0.5556


def test_worked_example_float_noise_matters():
    # the four differences of "0.1" are 0.1 only up to float noise; they must be one eps candidate
    d = np.subtract(S_FIRST, S_SECOND)
    near_tenth = np.abs(np.abs(d) - 0.1) < 1e-9
    assert near_tenth.sum() == 4 and len(set(np.abs(d[near_tenth]))) > 1


@pytest.mark.parametrize("seed", range(12))
def test_tie_calibration_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 60))
    h = rng.choice([-1, 0, 1], size=n)
    # coarse grid scores: many equal differences, some of them only equal up to float noise
    first, second = rng.integers(0, 8, size=n) / 10, rng.integers(0, 8, size=n) / 10
    got = pairwise_accuracy(h, first, second)
    want_acc, want_eps = brute_tie_calibrated(h, first - second)
    assert got.accuracy == pytest.approx(want_acc, abs=1e-12)
    assert got.eps == pytest.approx(want_eps, abs=1e-9)


@pytest.mark.parametrize("seed", range(8))
def test_float_noise_gives_the_same_answer_as_exact_integers(seed):
    rng = np.random.default_rng(100 + seed)
    n = 200
    h = rng.choice([-1, 0, 1], size=n)
    first_int, second_int = rng.integers(0, 10, size=n), rng.integers(0, 10, size=n)
    exact = pairwise_accuracy(h, first_int, second_int)  # integer differences: no float noise at all
    noisy = pairwise_accuracy(h, first_int / 10, second_int / 10)  # 0.3 - 0.2 != 0.1 in floats
    assert noisy.accuracy == exact.accuracy
    assert noisy.eps == pytest.approx(exact.eps / 10, abs=1e-9)


def test_tie_calibration_continuous_scores_match_brute_force():
    rng = np.random.default_rng(7)
    h = rng.choice([-1, 0, 1], size=300)
    first, second = rng.random(300), rng.random(300)
    first[:20] = second[:20]  # some exact model ties
    got = pairwise_accuracy(h, first, second)
    want_acc, want_eps = brute_tie_calibrated(h, first - second)
    assert got.accuracy == pytest.approx(want_acc) and got.eps == pytest.approx(want_eps, abs=1e-9)


@pytest.mark.parametrize("seed", range(5))
def test_without_ties_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    h = rng.choice([-1, 0, 1], size=80)
    first, second = rng.integers(0, 4, size=80) / 3, rng.integers(0, 4, size=80) / 3
    decided = [(hi, a - b) for hi, a, b in zip(h, first, second) if hi != 0]
    want = sum((d > 0 and hi == 1) or (d < 0 and hi == -1) for hi, d in decided) / len(decided)
    got = pairwise_accuracy(h, first, second, ties=False)
    assert got.accuracy == pytest.approx(want) and got.n == len(decided)


def test_model_tie_is_wrong_without_ties():
    assert pairwise_accuracy([1, -1], [0.5, 0.2], [0.5, 0.3], ties=False).accuracy == 0.5


def test_all_model_ties_with_human_ties_is_perfect_at_eps_zero():
    result = pairwise_accuracy([0, 0, 0], [0.3, 0.1, 0.2], [0.3, 0.1, 0.2])
    assert result.accuracy == 1.0 and result.eps == 0.0


def test_pairwise_input_errors():
    with pytest.raises(MetricInputError, match="length mismatch"):
        pairwise_accuracy([1, -1], [0.1, 0.2, 0.3], [0.1, 0.2])
    with pytest.raises(MetricInputError, match="NaN"):
        pairwise_accuracy([1, -1], [0.1, float("nan")], [0.1, 0.2])
    with pytest.raises(MetricInputError, match="human labels"):
        pairwise_accuracy([2, -1], [0.1, 0.2], [0.1, 0.2])
    with pytest.raises(MetricInputError, match="every pair is a human tie"):
        pairwise_accuracy([0, 0], [0.1, 0.2], [0.3, 0.4], ties=False)
    with pytest.raises(MetricInputError, match="at least 1"):
        pairwise_accuracy([], [], [])


# ----------------------------------------------------------------------------------------------
# correlations


@pytest.mark.parametrize("seed", range(4))
def test_correlations_match_scipy_and_brute_force_with_ties(seed):
    rng = np.random.default_rng(seed)
    human = rng.integers(1, 5, size=40).astype(float)  # 1-4 ratings: many ties
    model = np.round(human / 4 + rng.normal(0, 0.3, size=40), 1)  # rounded: ties in the model too
    c = correlations(human, model)
    assert c.n == 40
    assert c.srcc == pytest.approx(stats.pearsonr(stats.rankdata(human), stats.rankdata(model))[0])
    assert c.krcc == pytest.approx(brute_kendall_tau_b(human, model))
    assert c.plcc == pytest.approx(np.corrcoef(human, model)[0, 1])
    assert c.plcc_logistic is not None and -1 <= c.plcc_logistic <= 1


def test_logistic_fit_straightens_a_monotonic_curve():
    rng = np.random.default_rng(1)
    model = rng.uniform(-3, 3, size=200)
    human = 1 + 3 / (1 + np.exp(-3 * model)) + rng.normal(0, 0.05, size=200)
    c = correlations(human, model)
    assert c.plcc_logistic > c.plcc + 0.02
    assert c.plcc_logistic > 0.99 and c.logistic_note is None


def test_logistic_fit_handles_a_falling_relation():
    rng = np.random.default_rng(2)
    model = rng.uniform(0, 1, size=100)
    human = 4 - 3 * model + rng.normal(0, 0.1, size=100)
    c = correlations(human, model)
    assert c.plcc < 0 and c.plcc_logistic == pytest.approx(c.plcc, abs=0.05)


def test_logistic_fit_runs_only_when_read(monkeypatch):
    calls = []
    real_fit = metrics_module.optimize.curve_fit
    monkeypatch.setattr(metrics_module.optimize, "curve_fit", lambda *a, **k: calls.append(1) or real_fit(*a, **k))
    c = correlations([1, 2, 3, 4, 5], [0.1, 0.4, 0.2, 0.9, 0.7])
    assert c.srcc > 0 and calls == []  # a bootstrap of SRCC pays for no curve fit
    assert c.plcc_logistic == c.as_dict()["plcc_logistic"] and calls == [1]


@pytest.mark.parametrize("n", [2, 3])
def test_logistic_fit_on_fewer_points_than_parameters_is_undefined_not_a_type_error(n):
    c = correlations([1, 2, 4][:n], [0.1, 0.5, 0.3][:n])  # curve_fit raised TypeError here
    assert c.plcc_logistic is None and c.logistic_note == f"needs >= 4 items for the logistic fit, got {n}"
    assert c.srcc == pytest.approx(stats.spearmanr([1, 2, 4][:n], [0.1, 0.5, 0.3][:n])[0])


def test_logistic_fit_failure_is_reported(monkeypatch):
    def no_convergence(*args, **kwargs):
        raise RuntimeError("Optimal parameters not found")

    monkeypatch.setattr(metrics_module.optimize, "curve_fit", no_convergence)
    c = correlations([1, 2, 3, 4], [0.1, 0.4, 0.2, 0.9])
    assert c.plcc_logistic is None and "logistic fit failed" in c.logistic_note
    assert c.plcc == pytest.approx(np.corrcoef([1, 2, 3, 4], [0.1, 0.4, 0.2, 0.9])[0, 1])


@pytest.mark.parametrize("human, model, message", [
    ([1, 1, 1], [0.1, 0.2, 0.3], "human scores are all equal"),
    ([1, 2, 3], [0.5, 0.5, 0.5], "model scores are all equal"),
    ([1, 2, float("nan")], [0.1, 0.2, 0.3], "human: 1 value"),
    ([1, 2, 3], [0.1, float("inf"), 0.3], "model: 1 value"),
    ([1, 2, 3], [0.1, 0.2], "length mismatch"),
    ([1], [0.1], "at least 2 items"),
    ([1, "x"], [0.1, 0.2], "expected numbers"),
])
def test_correlation_input_errors(human, model, message):
    with pytest.raises(MetricInputError, match=message):
        correlations(human, model)


def test_metric_input_error_is_a_value_error_and_a_data_error():
    with pytest.raises(ValueError):
        correlations([1, 1], [1, 2])
    with pytest.raises(DataError):
        correlations([1, 1], [1, 2])


def test_qa_accuracy_per_dimension():
    records = [
        {"dimension": "visual_quality", "p_yes": 0.9, "human_answer": "yes"},
        {"dimension": "visual quality", "p_yes": 0.5, "human_answer": "No"},  # 0.5 means yes: wrong
        {"dimension": "text_alignment", "answer": '"No."', "human": "no"},
        {"dimension": "TA", "p_yes": 0.1, "label": True},  # True is yes: wrong
    ]
    result = qa_accuracy(records)
    assert result.accuracy == 0.5 and result.n == 4
    assert result.per_dimension == {"visual_quality": {"accuracy": 0.5, "n": 2},
                                    "text_alignment": {"accuracy": 0.5, "n": 2}}


def test_qa_accuracy_reads_objects_and_prefers_p_yes():
    class Record:
        def __init__(self, p_yes, answer, human):
            self.dimension, self.p_yes, self.answer, self.human_answer = "dynamic_degree", p_yes, answer, human

    # the text answer says no but p_yes >= 0.5: REFERENCE counts the probability
    assert qa_accuracy([Record(0.7, "no", "yes"), Record(0.2, "yes", "no")]).accuracy == 1.0


@pytest.mark.parametrize("record, message", [
    ({"dimension": "colour", "p_yes": 0.9, "human_answer": "yes"}, "record 0: unknown dimension"),
    ({"dimension": "visual_quality", "p_yes": 0.9}, "record 0: no human answer"),
    ({"dimension": "visual_quality", "human_answer": "yes"}, "record 0: no prediction"),
    ({"dimension": "visual_quality", "p_yes": 1.5, "human_answer": "yes"}, r"record 0: p_yes must lie in \[0, 1\]"),
    ({"dimension": "visual_quality", "answer": "maybe", "human_answer": "yes"}, "record 0: expected yes or no"),
])
def test_qa_accuracy_errors(record, message):
    with pytest.raises(DataError, match=message):
        qa_accuracy([record])


def test_qa_accuracy_needs_records():
    with pytest.raises(DataError, match="no yes/no records"):
        qa_accuracy([])


# ----------------------------------------------------------------------------------------------
# bootstrap


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    rng = np.random.default_rng(0)
    h = rng.choice([-1, 0, 1], size=300)
    first, second = rng.random(300) + 0.3 * h, rng.random(300)
    a = bootstrap_ci(pairwise_accuracy, h, first, second, n_resamples=200, seed=3)
    b = bootstrap_ci(pairwise_accuracy, h, first, second, n_resamples=200, seed=3)
    c = bootstrap_ci(pairwise_accuracy, h, first, second, n_resamples=200, seed=4)
    assert a == b and a != c
    assert a.value == pairwise_accuracy(h, first, second).accuracy
    assert a.low < a.value < a.high and a.n_resamples == 200 and a.confidence == 0.95


def test_bootstrap_matches_a_hand_percentile_loop():
    rng = np.random.default_rng(5)
    x = rng.normal(size=50)
    ci = bootstrap_ci(np.mean, x, n_resamples=200, confidence=0.9, seed=11)
    draws = np.random.default_rng(11)
    means = [x[draws.integers(0, 50, size=50)].mean() for _ in range(200)]
    assert (ci.low, ci.high) == pytest.approx(tuple(np.quantile(means, [0.05, 0.95])))


def test_bootstrap_resamples_items_jointly():
    x = np.arange(30.0)
    ci = bootstrap_ci(lambda a, b: float(np.max(np.abs(a - b))), x, x.copy(), n_resamples=100)
    assert ci.low == ci.high == 0.0  # resampled separately, a - b would not stay 0


def test_bootstrap_mapping_gives_one_interval_per_key():
    rng = np.random.default_rng(9)
    human = rng.normal(size=60)
    model = human + rng.normal(size=60)
    def srcc_and_plcc(h, m):
        c = correlations(h, m)
        return {"srcc": c.srcc, "plcc": c.plcc}

    cis = bootstrap_ci(srcc_and_plcc, human, model, n_resamples=200)
    assert set(cis) == {"srcc", "plcc"}
    assert cis["srcc"].low < correlations(human, model).srcc < cis["srcc"].high


def test_bootstrap_skips_degenerate_resamples_and_fails_when_most_are():
    human = np.array([1.0] * 9 + [2.0])  # a resample often misses the one different rating
    model = np.linspace(0, 1, 10)
    ci = bootstrap_ci(lambda h, m: correlations(h, m).srcc, human, model, n_resamples=200)
    assert 100 < ci.n_resamples < 200

    def needs_five_ones(x):  # defined on the data, undefined in about 75 % of its resamples
        if (x == 1).sum() != 5:
            raise MetricInputError("not five ones")
        return float(x.mean())

    with pytest.raises(MetricInputError, match="undefined in"):
        bootstrap_ci(needs_five_ones, np.array([0, 1] * 5), n_resamples=200)


@pytest.mark.parametrize("kwargs, arrays, message", [
    ({"confidence": 1.5}, ([1, 2, 3],), "confidence"),
    ({"n_resamples": 0}, ([1, 2, 3],), "n_resamples"),
    ({}, ([1, 2, 3], [1, 2]), "length mismatch"),
    ({}, ([1],), "at least 2"),
    ({}, (), "at least one array"),
])
def test_bootstrap_input_errors(kwargs, arrays, message):
    with pytest.raises(MetricInputError, match=message):
        bootstrap_ci(np.mean, *arrays, **kwargs)
