"""Agreement metrics (accuracy, SRCC/PLCC/KRCC, pairwise accuracy with ties, bootstrap CIs).

The code lives in fingereval.measure.metrics; this module re-exports it under the short name.
"""
from fingereval.measure.metrics import (
    BootstrapCI,
    Correlations,
    MetricInputError,
    PairwiseAccuracy,
    QAAccuracy,
    bootstrap_ci,
    correlations,
    fit_logistic4,
    logistic4,
    pairwise_accuracy,
    predicted_answer,
    qa_accuracy,
    tie_calibrated_accuracy,
)

__all__ = [
    "BootstrapCI", "Correlations", "MetricInputError", "PairwiseAccuracy", "QAAccuracy", "bootstrap_ci",
    "correlations", "fit_logistic4", "logistic4", "pairwise_accuracy", "predicted_answer", "qa_accuracy",
    "tie_calibrated_accuracy",
]
