"""When do annotators agree, and how much: pure functions of labels, no I/O.

The rule, shared by the web app and the Label Studio interchange:
- an adjudication decides the answer (and the reason, when the adjudicator gave a verdict);
- otherwise an item is agreed when at least two annotators labelled it and all their answers are equal;
- the reason is the latest edit if any annotator edited it, none if any rejected it, else the original
  (accepted by every annotator who gave a verdict, or not checked at all).
An annotator who labels an item twice counts once, with their latest label (labels come oldest first).
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

ANSWERS = ("yes", "no")
VERDICTS = ("accept", "reject", "edit")


@dataclass(frozen=True)
class Label:
    """One annotator's label of one item."""

    item_id: str
    annotator: str
    answer: str  # "yes" | "no"
    reason_verdict: str | None = None  # "accept" | "reject" | "edit" | None
    reason: str | None = None  # the edited reason when reason_verdict == "edit"


@dataclass(frozen=True)
class Agreed:
    item_id: str
    answer: str
    reason: str | None
    adjudicated: bool


def latest_per_annotator(labels: Sequence[Label]) -> list[Label]:
    """Each annotator's latest label, in the order annotators first labelled."""
    latest: dict[str, Label] = {}
    for label in labels:
        latest[label.annotator] = label  # a dict keeps the first insertion's place and the last value
    return list(latest.values())


def checked_reason(labels: Sequence[Label], original_reason: str | None) -> str | None:
    """The reason after the check: the latest edit, else none if anyone rejected, else the original."""
    edits = [label.reason for label in labels if label.reason_verdict == "edit" and label.reason]
    if edits:
        return edits[-1]
    if any(label.reason_verdict == "reject" for label in labels):
        return None
    return original_reason


def agree(labels: Sequence[Label], original_reason: str | None,
          adjudication: Label | None = None) -> Agreed | None:
    """The agreed answer and reason of one item, or None when its annotators do not (yet) agree."""
    if adjudication is not None:
        if adjudication.reason_verdict is not None:
            reason = checked_reason([adjudication], original_reason)
        else:
            reason = checked_reason(latest_per_annotator(labels), original_reason)
        return Agreed(adjudication.item_id, adjudication.answer, reason, adjudicated=True)
    current = latest_per_annotator(labels)
    if len(current) < 2 or len({label.answer for label in current}) != 1:
        return None
    return Agreed(current[0].item_id, current[0].answer, checked_reason(current, original_reason),
                  adjudicated=False)


def cohen_kappa(first: Sequence[str], second: Sequence[str]) -> float:
    """Cohen's kappa of two raters over the same items: (p_o - p_e) / (1 - p_e)."""
    # written by hand: a dozen lines, and sklearn is not a dependency of this project
    if len(first) != len(second):
        raise ValueError(f"two raters need the same items: {len(first)} labels against {len(second)}")
    n = len(first)
    if n == 0:
        raise ValueError("cohen_kappa needs at least one item labelled by both raters")
    observed = sum(a == b for a, b in zip(first, second)) / n
    count_first, count_second = Counter(first), Counter(second)
    expected = sum(count_first[c] * count_second[c] for c in count_first) / (n * n)
    if expected == 1.0:
        # both raters used one and the same category throughout: chance explains everything, but they
        # agree on every item; 1.0 (rather than 0/0) keeps the number a JSON float
        return 1.0
    return (observed - expected) / (1.0 - expected)


def _pairs(labels: Sequence[Label]) -> dict[str, tuple[str, str]]:
    """item -> (first annotator's answer, second annotator's answer) for items two annotators labelled."""
    by_item: dict[str, list[Label]] = {}
    for label in labels:
        by_item.setdefault(label.item_id, []).append(label)
    pairs = {}
    for item_id, item_labels in by_item.items():
        current = latest_per_annotator(item_labels)
        if len(current) >= 2:
            pairs[item_id] = (current[0].answer, current[1].answer)
    return pairs


def _kappa_of(pairs: Sequence[tuple[str, str]]) -> dict:
    if not pairs:
        return {"cohen_kappa": None, "n": 0}
    return {"cohen_kappa": cohen_kappa([a for a, _ in pairs], [b for _, b in pairs]), "n": len(pairs)}


def agreement_summary(labels: Sequence[Label], dimension_of: Mapping[str, str]) -> dict:
    """Cohen's kappa over the items two annotators labelled (the first two who labelled each), overall
    and per dimension: {"cohen_kappa", "n", "per_dimension": {dim: {"cohen_kappa", "n"}}}.

    `cohen_kappa` is None where no item has two annotators yet; an item with no dimension in
    `dimension_of` counts overall only.
    """
    pairs = _pairs(labels)
    per_dimension: dict[str, list[tuple[str, str]]] = {}
    for item_id, pair in pairs.items():
        dimension = dimension_of.get(item_id)
        if dimension is not None:
            per_dimension.setdefault(dimension, []).append(pair)
    summary = _kappa_of(list(pairs.values()))
    summary["per_dimension"] = {dim: _kappa_of(ps) for dim, ps in sorted(per_dimension.items())}
    return summary
