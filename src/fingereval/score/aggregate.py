"""From answers to scores: polarity per question, mean per dimension, weighted mean overall.

The dimensions and their default weights are the rubric's (fingereval.rubric; FingER's five unless given).
"""
from __future__ import annotations

from typing import Iterable, Mapping, Sequence

from fingereval.errors import DataError, ModelOutputError
from fingereval.rubric import Rubric, default_rubric
from fingereval.schema import Question, QuestionResult, RawAnswer, VideoResult
from fingereval.video import VideoClip


def question_score(p_yes: float, good_answer: str) -> float:
    """A question whose good answer is no ("Is there flicker?") earns 1 - p_yes."""
    return p_yes if good_answer == "yes" else 1.0 - p_yes


def question_results(questions: Sequence[Question], answers: Sequence[RawAnswer]) -> list[QuestionResult]:
    by_id = {a.question_id: a for a in answers}
    out = []
    for q in questions:
        a = by_id.get(q.id)
        if a is None:
            raise ModelOutputError(f"question {q.id!r} got no answer from the model; rerun the item")
        out.append(QuestionResult(
            id=q.id, dimension=q.dimension, entity=q.entity, question=q.text, good_answer=q.good_answer,
            answer="yes" if a.p_yes >= 0.5 else "no", reason=a.reason, p_yes=a.p_yes,
            score=question_score(a.p_yes, q.good_answer), forced_answer=a.forced,
            answer_unreadable=a.answer_unreadable,
        ))
    return out


def dimension_scores(results: Sequence[QuestionResult], rubric: Rubric | None = None) -> dict[str, float | None]:
    """Mean question score per dimension of the rubric, in its order; None for a dimension with no questions."""
    rubric = rubric or default_rubric()
    sums: dict[str, list[float]] = {k: [] for k in rubric.keys}
    for r in results:
        if r.dimension not in sums:
            raise DataError(f"question {r.id!r}: unknown dimension {r.dimension!r}: the rubric {rubric.name!r} has "
                            f"{', '.join(rubric.keys)}; give --rubric a rubric file that defines it")
        sums[r.dimension].append(r.score)
    return {k: (sum(v) / len(v) if v else None) for k, v in sums.items()}


def default_weights(rubric: Rubric | None = None) -> dict[str, float]:
    return (rubric or default_rubric()).weights()


def check_weights(asked: Iterable[str], weights: Mapping[str, float] | None, source: str = "the weights",
                  rubric: Rubric | None = None) -> None:
    """Refuse weights that give every dimension asked weight 0: the overall would be undefined, and falling
    back to equal weights would pass off an unweighted mean as the weighted one."""
    asked, order = set(asked), (rubric or default_rubric()).keys
    asked = [k for k in order if k in asked] + sorted(asked - set(order))
    if weights and asked and not any(weights.get(k, 0.0) > 0 for k in asked):
        raise DataError(f"{source} give weight 0 to every dimension asked ({', '.join(asked)}); give one of them "
                        "a weight above 0, or score without --weights")


def overall_score(dims: Mapping[str, float | None], weights: Mapping[str, float] | None = None,
                  rubric: Rubric | None = None) -> float | None:
    """Weighted mean of the dimensions that have a score (weights renormalised over those); the weights default
    to the rubric's."""
    w = dict(weights) if weights else default_weights(rubric)
    check_weights([k for k, s in dims.items() if s is not None], w, rubric=rubric)
    present = [(k, s) for k, s in dims.items() if s is not None and w.get(k, 0.0) > 0]
    if not present:
        return None
    return sum(w[k] * s for k, s in present) / sum(w[k] for k, _ in present)


def video_result(video: str, prompt: str, questions: Sequence[Question], answers: Sequence[RawAnswer], *,
                 weights: Mapping[str, float] | None = None, model: str | None = None, reason: bool = False,
                 item_id: str | None = None, clip: VideoClip | None = None,
                 rubric: Rubric | None = None) -> VideoResult:
    rubric = rubric or default_rubric()
    results = question_results(questions, answers)
    dims = dimension_scores(results, rubric)
    seen = {} if clip is None else dict(resize=clip.resize, video_truncated=clip.truncated,
                                        video_seconds_decoded=clip.seconds_decoded)  # what the scores rest on
    return VideoResult(id=item_id, video=video, prompt=prompt, overall=overall_score(dims, weights, rubric),
                       dimensions=dims, questions=results, model=model, mode="reason" if reason else "direct",
                       answers_unreadable=sum(q.answer_unreadable for q in results), rubric=rubric.ref(), **seen)
