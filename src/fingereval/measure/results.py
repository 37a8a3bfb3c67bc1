"""Our own scores, read back from a `fingereval score` results.jsonl and looked up by video.

Users keep videos in other folders than the benchmark file says, so a lookup tries the exact path
first and then the file name alone (when that name is unique among the results).
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from pydantic import ValidationError

from fingereval.dimensions import BY_KEY, DIMENSION_KEYS
from fingereval.errors import DataError
from fingereval.io import LineError, iter_jsonl, validation_message
from fingereval.rubric import Rubric
from fingereval.schema import VideoResult

OVERALL = "overall"
TARGETS: tuple[str, ...] = (OVERALL, *DIMENSION_KEYS)  # what we score: overall and each dimension
MAX_EXAMPLES = 5


def targets(rubric: Rubric | None = None) -> tuple[str, ...]:
    """Overall and each dimension of the rubric (default: FingER's five)."""
    return TARGETS if rubric is None else (OVERALL, *rubric.keys)


def dimension_columns(results: Iterable[VideoResult], rubric: Rubric | None = None,
                      where: str = "the results") -> list[tuple[str, str]]:
    """(key, name) of each dimension a table shows: the rubric's, in its order (a result scored in a dimension
    the rubric lacks is an error naming it and --rubric); without one, FingER's five when the results hold no
    other, else the dimensions the results hold, in their order."""
    results = list(results)
    held = list(dict.fromkeys(k for r in results for k in r.dimensions))
    if rubric is not None:
        extra = [k for k in held if k not in rubric.by_key]
        if extra:
            holder = next((r for r in results if extra[0] in r.dimensions and r.rubric is not None), None)
            with_rubric = f" (scored with the rubric {holder.rubric.name!r})" if holder else ""
            raise DataError(f"{where} hold the dimension {extra[0]!r}{with_rubric}, which the rubric {rubric.name!r} "
                            "does not have; give --rubric the rubric they were scored with, or leave --rubric out")
        return [(d.key, d.name) for d in rubric.dimensions]
    keys = held if any(k not in BY_KEY for k in held) else list(DIMENSION_KEYS)
    return [(k, BY_KEY[k].name if k in BY_KEY else k.replace("_", " ")) for k in keys]


def video_name(path: str) -> str:
    """File name of a path written on any OS ('a/b.mp4' and 'a\\b.mp4' both give 'b.mp4')."""
    return PurePath(path.replace("\\", "/")).name


def _normal_path(path: str) -> str:
    return os.path.normpath(path.replace("\\", "/"))


@dataclass
class ResultsIndex:
    path: str
    by_path: dict[str, VideoResult] = field(default_factory=dict)
    by_name: dict[str, VideoResult] = field(default_factory=dict)
    ambiguous_names: set[str] = field(default_factory=set)
    n_failed: int = 0
    n_malformed: int = 0
    n_duplicates: int = 0
    problems: list[str] = field(default_factory=list)  # a few messages about skipped lines

    def __len__(self) -> int:
        return len(self.by_path)

    def find(self, video: str) -> VideoResult | None:
        """The result for a video: by exact (normalised) path, else by unique file name."""
        hit = self.by_path.get(_normal_path(video))
        if hit is not None:
            return hit
        name = video_name(video)
        return None if name in self.ambiguous_names else self.by_name.get(name)

    def summary(self) -> dict[str, object]:
        return {"file": self.path, "videos": len(self), "failed_skipped": self.n_failed,
                "malformed_skipped": self.n_malformed, "duplicates": self.n_duplicates,
                "problems": self.problems}


def score_of(result: VideoResult, target: str) -> float | None:
    """The result's overall score or one dimension's score (None where it has none)."""
    return result.overall if target == OVERALL else result.dimensions.get(target)


def read_results(path: str | Path, on_warning: Callable[[str], None], what: str = "left out") -> list[VideoResult]:
    """Every result in the file, failed ones included; a bad line is warned about (with its number) and left
    out; a video scored twice by one model (a resumed run) keeps its last result, in its first place."""
    kept: dict[tuple[str, str | None], VideoResult] = {}
    for n, row in iter_jsonl(path, "results file", hint="write one with `fingereval score ... --out FILE`"):
        if isinstance(row, LineError):
            on_warning(f"{row}; {what}")
            continue
        try:
            result = VideoResult.model_validate(row)
        except (ValidationError, DataError) as e:
            reason = validation_message(e) if isinstance(e, ValidationError) else str(e)
            on_warning(f"{path} line {n}: {reason}; {what}")
            continue
        kept[(result.id or result.video, result.model)] = result
    return list(kept.values())


def load_results(path: str | Path) -> ResultsIndex:
    """Read results.jsonl, skipping (and counting) failed items and malformed lines.
    A video scored twice (a resumed run) keeps its last result."""
    p = Path(path)
    index = ResultsIndex(path=str(p))
    for lineno, row in iter_jsonl(p, "results file", hint="write one with `fingereval score`"):
        problem = row.reason if isinstance(row, LineError) else None
        if problem is None:
            try:
                result = VideoResult.model_validate(row)
            except ValidationError as e:
                problem = validation_message(e)
        if problem is not None:
            index.n_malformed += 1
            if len(index.problems) < MAX_EXAMPLES:  # the file is named in the summary beside them
                index.problems.append(f"line {lineno}: {problem}")
            continue
        if result.error is not None:
            index.n_failed += 1
            continue
        key = _normal_path(result.video)
        if key in index.by_path:
            index.n_duplicates += 1
        index.by_path[key] = result
    names: dict[str, str] = {}
    for key, result in index.by_path.items():
        name = video_name(key)
        if name in names and names[name] != key:
            index.ambiguous_names.add(name)
        names[name] = key
        index.by_name[name] = result
    if not index.by_path:
        raise DataError(f"results file {p} has no scored videos ({index.n_failed} failed, "
                        f"{index.n_malformed} malformed lines){': ' + index.problems[0] if index.problems else ''}")
    return index
