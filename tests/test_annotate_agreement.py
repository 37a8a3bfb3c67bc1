"""The agreement rules shared by the annotation app and the Label Studio interchange."""
from __future__ import annotations

import math

import pytest

from fingereval.annotate.agreement import Agreed, Label, agree, agreement_summary, cohen_kappa


def L(annotator, answer, verdict=None, reason=None, item="q1"):
    return Label(item, annotator, answer, verdict, reason)


def test_two_equal_answers_agree_and_keep_the_accepted_reason():
    got = agree([L("ann", "yes", "accept"), L("bob", "yes", "accept")], "the ball is red")
    assert got == Agreed("q1", "yes", "the ball is red", adjudicated=False)


def test_one_annotator_or_different_answers_do_not_agree():
    assert agree([L("ann", "yes")], "r") is None
    assert agree([L("ann", "yes"), L("bob", "no")], "r") is None
    assert agree([], "r") is None


def test_one_annotator_labelling_twice_counts_once_with_the_latest_label():
    assert agree([L("ann", "yes"), L("ann", "yes")], None) is None
    # ann changed her mind to agree with bob
    got = agree([L("ann", "no"), L("bob", "yes"), L("ann", "yes")], None)
    assert got is not None and got.answer == "yes"


def test_a_reject_drops_the_reason_and_an_edit_replaces_it_latest_first():
    assert agree([L("ann", "no", "accept"), L("bob", "no", "reject")], "r").reason is None
    got = agree([L("ann", "no", "edit", "first edit"), L("bob", "no", "edit", "second edit")], "r")
    assert got.reason == "second edit"
    # an edit wins over a reject: the editor wrote what the reason should say
    assert agree([L("ann", "no", "reject"), L("bob", "no", "edit", "better")], "r").reason == "better"


def test_no_verdict_keeps_the_original_reason_and_a_missing_reason_stays_missing():
    assert agree([L("ann", "yes"), L("bob", "yes")], "orig").reason == "orig"
    assert agree([L("ann", "yes", "accept"), L("bob", "yes")], None).reason is None


def test_an_adjudication_decides_the_answer_and_its_verdict_the_reason():
    labels = [L("ann", "yes", "accept"), L("bob", "no", "reject")]
    got = agree(labels, "orig", adjudication=L("judge", "no", "edit", "judged"))
    assert got == Agreed("q1", "no", "judged", adjudicated=True)
    # without a verdict the annotators' verdicts decide the reason (bob rejected it)
    assert agree(labels, "orig", adjudication=L("judge", "yes")).reason is None
    assert agree([L("ann", "yes")], "orig", adjudication=L("judge", "yes", "accept")).reason == "orig"


def test_cohen_kappa_by_hand_examples():
    # p_o = 3/4; first says yes 3 times, second 2 times: p_e = (3*2 + 1*2)/16 = 1/2
    assert cohen_kappa(["yes", "no", "yes", "yes"], ["yes", "no", "no", "yes"]) == pytest.approx(0.5)
    assert cohen_kappa(["yes", "no"], ["no", "yes"]) == pytest.approx(-1.0)
    assert cohen_kappa(["yes", "no", "no"], ["yes", "no", "no"]) == pytest.approx(1.0)
    assert cohen_kappa(["yes"] * 3, ["yes"] * 3) == 1.0  # one category throughout: agreed, not 0/0
    # the textbook example (Cohen 1960 style): 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no -> kappa 0.4
    first = ["yes"] * 25 + ["no"] * 25
    second = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(first, second) == pytest.approx(0.4)


def test_cohen_kappa_refuses_unequal_or_empty_inputs():
    with pytest.raises(ValueError, match="same items"):
        cohen_kappa(["yes"], ["yes", "no"])
    with pytest.raises(ValueError, match="at least one"):
        cohen_kappa([], [])


def test_agreement_summary_counts_items_two_annotators_labelled_per_dimension():
    labels = [
        L("ann", "yes", item="a"), L("bob", "yes", item="a"),
        L("ann", "no", item="b"), L("bob", "no", item="b"),
        L("ann", "yes", item="c"), L("bob", "no", item="c"),
        L("ann", "no", item="d"), L("bob", "no", item="d"),
        L("ann", "yes", item="e"),  # one annotator only: not counted
    ]
    dims = {"a": "visual_quality", "b": "visual_quality", "c": "text_alignment", "d": "text_alignment",
            "e": "text_alignment"}
    summary = agreement_summary(labels, dims)
    assert summary["n"] == 4
    first, second = ["yes", "no", "yes", "no"], ["yes", "no", "no", "no"]
    assert summary["cohen_kappa"] == pytest.approx(cohen_kappa(first, second))
    assert summary["cohen_kappa"] == pytest.approx(0.5)
    assert summary["per_dimension"]["visual_quality"] == {"cohen_kappa": 1.0, "n": 2}
    assert summary["per_dimension"]["text_alignment"]["n"] == 2
    assert math.isfinite(summary["per_dimension"]["text_alignment"]["cohen_kappa"])


def test_agreement_summary_with_no_pairs_has_no_kappa():
    assert agreement_summary([L("ann", "yes")], {"q1": "visual_quality"}) == {
        "cohen_kappa": None, "n": 0, "per_dimension": {}}
