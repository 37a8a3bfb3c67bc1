"""Polarity, dimension means and the weighted overall, checked against hand computations."""
from __future__ import annotations

import pytest

from fingereval.schema import RawAnswer
from fingereval.dimensions import DIMENSION_KEYS
from fingereval.errors import DataError, ModelOutputError
from fingereval.schema import Question, QuestionSet
from fingereval.score import dimension_scores, overall_score, question_results, question_score, video_result

QS = [
    Question(id="1", dimension="visual_quality", text="Is the man sharp?", good_answer="yes"),
    Question(id="2", dimension="visual_quality", text="Is the man blurry?", good_answer="no"),
    Question(id="3", dimension="temporal_consistency", text="Does the man flicker?", good_answer="no"),
    Question(id="4", dimension="text alignment", text="Is there a man?", good_answer="Yes"),
]
ANS = [RawAnswer("1", 0.9), RawAnswer("2", 0.3), RawAnswer("3", 0.6, reason="it flickers at 0:02"), RawAnswer("4", 0.5)]


def test_polarity():
    assert question_score(0.8, "yes") == 0.8
    assert question_score(0.8, "no") == pytest.approx(0.2)


def test_dimension_means_and_missing_dimensions():
    res = question_results(QS, ANS)
    assert [r.score for r in res] == pytest.approx([0.9, 0.7, 0.4, 0.5])
    assert [r.answer for r in res] == ["yes", "no", "yes", "yes"]
    dims = dimension_scores(res)
    assert set(dims) == set(DIMENSION_KEYS)
    assert dims["visual_quality"] == pytest.approx(0.8) and dims["temporal_consistency"] == pytest.approx(0.4)
    assert dims["dynamic_degree"] is None and dims["factual_consistency"] is None


def test_overall_equal_and_custom_weights():
    dims = {"visual_quality": 0.8, "temporal_consistency": 0.4, "dynamic_degree": None, "text_alignment": 0.5,
            "factual_consistency": None}
    assert overall_score(dims) == pytest.approx((0.8 + 0.4 + 0.5) / 3)
    w = {"visual_quality": 0.5, "temporal_consistency": 0.25, "dynamic_degree": 0.25, "text_alignment": 0.0,
         "factual_consistency": 0.0}
    # weights renormalised over the dimensions that were asked about
    assert overall_score(dims, w) == pytest.approx((0.5 * 0.8 + 0.25 * 0.4) / 0.75)


def test_video_result_keeps_every_reason_and_orders_lost_points():
    r = video_result("v.mp4", "a man", QS, ANS, reason=True)
    assert r.mode == "reason" and r.questions[2].reason == "it flickers at 0:02"
    assert [q.id for q in r.lost_points()][:2] == ["3", "4"]


def test_missing_answer_is_an_error():
    with pytest.raises(ModelOutputError, match="'4'"):
        question_results(QS, ANS[:3])


def test_unknown_dimension_is_a_clear_error(tmp_path):
    p = tmp_path / "q.json"
    p.write_text('{"prompt": "x", "questions": [{"id": "1", "dimension": "beauty", "text": "?", "good_answer": "yes"}]}')
    with pytest.raises(DataError, match="unknown dimension 'beauty'"):
        QuestionSet.load(p)
