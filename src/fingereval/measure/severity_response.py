"""Detection and dimension score against graded severity (probes whose defect grows level by level).

For each dimension and level: the mean score of that dimension's questions (a clean video should keep it
high, a worse one lose it) and the detection rate (the share of videos whose defect question the model
answered the bad way). A trustworthy evaluator's score falls monotonically as severity rises."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from fingereval.answer.base import Answerer
from fingereval.data.instruct import InstructRecord, group_by_video, instruct_questions
from fingereval.io import read_jsonl
from fingereval.measure.model_bench import predict_qa
from fingereval.schema import RawAnswer
from fingereval.score.aggregate import question_results

TIE = 1e-4  # scores this close are equal (a saturated slot differs in the 7th digit between levels)


def _levels(severity_file: Path, base: Path) -> dict[str, dict]:
    """Absolute video path -> its {dimension, level, magnitude, unit} row."""
    rows = read_jsonl(severity_file, "severity file")
    return {str((base / row["video"]).resolve()): row for _, row in rows}


def severity_table(answerer: Answerer, records: Sequence[InstructRecord], severity_file: Path, reason: bool = False,
                   progress: bool = False) -> dict:
    levels = _levels(severity_file, severity_file.parent)
    rows, failures = predict_qa(answerer, records, reason=reason, progress=progress)
    p_yes = {row["id"]: row["p_yes"] for row in rows}
    per: dict[tuple[str, int], dict] = {}
    for video, group in group_by_video([r for r in records if r.id in p_yes]).items():
        meta = levels.get(str(Path(video).resolve()))
        if meta is None:
            continue
        results = question_results(instruct_questions(group), [RawAnswer(r.id, p_yes[r.id]) for r in group])
        cell = per.setdefault((meta["dimension"], meta["level"]), {"magnitude": meta["magnitude"], "unit": meta["unit"],
                                                                    "scores": [], "detected": []})
        cell["scores"].append(float(np.mean([q.score for q in results])))
        cell["detected"] += [q.score < 0.5 for q in results]
    table: dict[str, list[dict]] = {}
    for (dim, level), cell in sorted(per.items()):
        table.setdefault(dim, []).append({"level": level, "magnitude": cell["magnitude"], "unit": cell["unit"],
                                          "videos": len(cell["scores"]),
                                          "dimension_score": float(np.mean(cell["scores"])),
                                          "detection_rate": float(np.mean(cell["detected"]))})
    summary = {dim: {"monotonic": all(a["dimension_score"] >= b["dimension_score"] - TIE
                                      for a, b in zip(rows_, rows_[1:])),
                     "drop": rows_[0]["dimension_score"] - rows_[-1]["dimension_score"]}
               for dim, rows_ in table.items()}
    return {"dimensions": table, "summary": summary, "all_monotonic": all(s["monotonic"] for s in summary.values()),
            "failed_videos": failures}


def severity_png(report: dict, path: Path, title: str = "severity") -> None:
    """Two panels: the dimension score and the detection rate against the severity level, a line per dimension."""
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.8), dpi=120)
    for dim, rows in report["dimensions"].items():
        levels = [r["level"] for r in rows]
        left.plot(levels, [r["dimension_score"] for r in rows], marker="o", label=dim)
        right.plot(levels, [r["detection_rate"] for r in rows], marker="o", label=dim)
    left.set(xlabel="severity level (0: clean)", ylabel="dimension score", ylim=(0, 1), title=title)
    right.set(xlabel="severity level (0: clean)", ylabel="detection rate", ylim=(0, 1), title="defect detected")
    right.legend(loc="lower right", fontsize=8)
    for ax in (left, right):
        ax.set_xticks(sorted({r["level"] for rows in report["dimensions"].values() for r in rows}))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
