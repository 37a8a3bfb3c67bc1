"""Benchmarks that run a model: `bench qa` (yes/no accuracy on QA data) and `bench levels`
(the paper's Table 1 in miniature: entity-level questions vs one overall-level question).

Both go video by video: a video is decoded once and all its questions share its prefix. Their bootstrap
intervals resample videos too (fingereval.measure.clusters says why): `bench qa` draws videos with all
their questions, and `bench levels` has one row per video already.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from fingereval.answer.base import Answerer
from fingereval.data.instruct import InstructRecord, group_by_video, instruct_questions
from fingereval.errors import FingerEvalError
from fingereval.measure.clusters import accuracy_ci_by_video
from fingereval.measure.join import VideoJoin
from fingereval.measure.metrics import bootstrap_ci, correlations, qa_accuracy
from fingereval.measure.pointwise import load_ratings
from fingereval.rubric import Rubric, default_rubric
from fingereval.schema import Question
from fingereval.score.aggregate import dimension_scores, overall_score, question_results
from fingereval.video import load_video

OVERALL_QUESTION = "Is this a high-quality video that matches the prompt \"{prompt}\"?"


def _progress(label: str, enabled: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    disable=not enabled, transient=True)


def predict_qa(answerer: Answerer, records: Iterable[InstructRecord], reason: bool = False,
               progress: bool = False) -> tuple[list[dict], list[str]]:
    """The model's p_yes for every record, video by video; unreadable videos are reported and skipped."""
    groups = group_by_video(records)
    rows, failures = [], []
    with _progress("answering", progress) as bar:
        task = bar.add_task("qa", total=len(groups))
        for video, recs in groups.items():
            try:
                clip = load_video(video, answerer.video_config)
                answers = answerer.answer(clip, instruct_questions(recs), reason=reason)
            except FingerEvalError as e:
                failures.append(f"{video}: {e}")
                bar.advance(task)
                continue
            for r, a in zip(recs, answers):
                rows.append({"id": r.id, "video": video, "dimension": r.dimension, "question": r.question,
                             "human_answer": r.answer, "p_yes": a.p_yes, "reason": a.reason, "forced_answer": a.forced})
            bar.advance(task)
    return rows, failures


def qa_report(rows: list[dict], n_resamples: int = 1000, seed: int = 0, rubric: Rubric | None = None) -> dict:
    """Accuracy overall and per dimension; the 95 % interval resamples videos with all their questions."""
    acc = qa_accuracy(rows, rubric)
    hits = [(r["p_yes"] >= 0.5) == (r["human_answer"] == "yes") for r in rows]
    ci = accuracy_ci_by_video([r["video"] for r in rows], hits, n_resamples=n_resamples, seed=seed)
    always_yes = float(np.mean([r["human_answer"] == "yes" for r in rows]))
    return {"accuracy": acc.accuracy, "n": acc.n, "per_dimension": acc.per_dimension,
            "ci95": [ci.low, ci.high] if ci else None, "always_yes_accuracy": always_yes,
            "forced_answers": int(sum(bool(r.get("forced_answer")) for r in rows)),
            "bootstrap": {"unit": "video", "videos": len({r["video"] for r in rows}), "resamples": n_resamples,
                          "seed": seed}}


def evaluate_qa(answerer: Answerer, records: Sequence[InstructRecord], reason: bool = False, progress: bool = False,
                n_resamples: int = 1000, keep_rows: bool = False, rubric: Rubric | None = None) -> dict:
    rows, failures = predict_qa(answerer, records, reason=reason, progress=progress)
    if not rows:
        raise FingerEvalError(f"no record could be answered ({len(failures)} videos failed); check the video paths")
    report = qa_report(rows, n_resamples, rubric=rubric)
    report["failed_videos"] = failures
    if keep_rows:
        report["rows"] = rows
    return report


def evaluate_levels(answerer: Answerer, records: Sequence[InstructRecord], ratings_path: Path, *,
                    reason: bool = False, n_resamples: int = 1000, progress: bool = False,
                    rubric: Rubric | None = None) -> dict:
    """SRCC against human (or planted) overall ratings: entity-level questions vs one overall question.
    One row per video, so the bootstrap resamples videos. The entity level is scored with the rubric's
    dimensions and weights (default: FingER's)."""
    rubric = rubric or default_rubric()
    groups = group_by_video(records)
    join = VideoJoin({r.video: r.scores for r in load_ratings(ratings_path, rubric)}, groups)
    human, entity, overall_level = [], [], []
    per_dim: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in rubric.keys}
    with _progress("levels", progress) as bar:
        task = bar.add_task("levels", total=len(groups))
        for video, recs in groups.items():
            bar.advance(task)
            scores = join.find(video) or {}
            target = scores.get("overall")
            if target is None:
                continue
            clip = load_video(video, answerer.video_config)
            qs = instruct_questions(recs)
            whole = Question(id="overall", dimension="text_alignment", text=OVERALL_QUESTION.format(prompt=recs[0].prompt),
                             good_answer="yes")
            answers = answerer.answer(clip, qs + [whole], reason=reason)  # one prefix for both levels
            dims = dimension_scores(question_results(qs, answers[:-1]), rubric)
            human.append(target)
            entity.append(overall_score(dims, rubric=rubric))
            overall_level.append(answers[-1].p_yes)
            for k, (h_k, m_k) in per_dim.items():  # each dimension's questions against that dimension's rating
                if dims.get(k) is not None and scores.get(k) is not None:
                    h_k.append(scores[k])
                    m_k.append(dims[k])
    if len(human) < 3:
        raise FingerEvalError(f"only {len(human)} videos have both ratings and questions; need at least 3")
    h, e, o = map(np.asarray, (human, entity, overall_level))

    def srcc_with_ci(model: np.ndarray, target: np.ndarray = h) -> dict:
        usable = np.ptp(model) > 0 and np.ptp(target) > 0
        value = correlations(target, model).srcc if usable else float("nan")
        ci = bootstrap_ci(lambda a, b: correlations(a, b).srcc, target, model, n_resamples=n_resamples) if usable else None
        return {"srcc": value, "ci95": [ci.low, ci.high] if ci else None}

    dimensions = {k: srcc_with_ci(np.asarray(m_k), np.asarray(h_k)) | {"n": len(h_k)}
                  for k, (h_k, m_k) in per_dim.items() if len(h_k) >= 3}
    return {"n_videos": len(human), "entity_level": srcc_with_ci(e), "overall_level": srcc_with_ci(o),
            "entity_level_per_dimension": dimensions, "overall_question": OVERALL_QUESTION, "join": join.summary(),
            "bootstrap": {"unit": "video", "resamples": n_resamples, "seed": 0}}
