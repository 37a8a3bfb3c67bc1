"""Pairwise preference benchmarks (GenAI-Bench video, MonetBench): load the human votes, join them with
our results by video, and measure agreement ("tau" with ties, "diff" without) with bootstrap CIs."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import numpy as np

from fingereval.errors import DataError
from fingereval.io import write_jsonl
from fingereval.measure.join import VideoJoin
from fingereval.measure.metrics import PairwiseAccuracy, bootstrap_ci, pairwise_accuracy
from fingereval.measure.records import read_json_records, require_fields
from fingereval.measure.results import MAX_EXAMPLES, ResultsIndex, score_of, targets, video_name
from fingereval.rubric import Rubric
from fingereval.schema import VideoResult


class Benchmark(str, Enum):
    genai_bench = "genai-bench"
    monetbench = "monetbench"


@dataclass(frozen=True)
class PreferencePair:
    """One human comparison. `human`: +1 first better, -1 second better, 0 tie."""

    id: str
    prompt: str
    first: str
    second: str
    human: int
    vote: str  # the label as the benchmark wrote it


# benchmark -> (first field, second field, label field, {label: human})
_FORMATS: dict[Benchmark, tuple[str, str, str, dict[str, int]]] = {
    Benchmark.genai_bench: ("video_left", "video_right", "vote_type",
                            {"leftvote": 1, "rightvote": -1, "tievote": 0, "bothbad_vote": 0}),
    Benchmark.monetbench: ("video1_path", "video2_path", "standard_answer",
                           {"video1": 1, "video2": -1, "tie": 0}),
}


def load_pairs(path: str | Path, benchmark: Benchmark | str) -> list[PreferencePair]:
    """Read a benchmark's pairs file (a JSON list or JSONL) in that benchmark's own field names."""
    bench = Benchmark(benchmark)
    first_key, second_key, label_key, labels = _FORMATS[bench]
    pairs = []
    for where, record in read_json_records(path, f"{bench.value} pairs file"):
        where = f"{path} {where}"
        require_fields(record, ("prompt", first_key, second_key, label_key), where)
        vote = str(record[label_key]).strip().lower()
        if vote not in labels:
            raise DataError(f"{where}: {label_key} is {record[label_key]!r}; expected one of {', '.join(labels)}")
        pairs.append(PreferencePair(id=str(record.get("id", len(pairs))), prompt=str(record["prompt"]),
                                    first=str(record[first_key]), second=str(record[second_key]),
                                    human=labels[vote], vote=vote))
    return pairs


# ----------------------------------------------------------------------------------------------
# joining pairs with our results


@dataclass
class JoinedPairs:
    joined: list[tuple[PreferencePair, VideoResult, VideoResult]]
    unjoined: list[tuple[PreferencePair, list[str]]]  # the pair and the videos without a result
    join: dict[str, Any] = field(default_factory=dict)  # how the distinct videos joined (VideoJoin.summary)

    def arrays(self, target: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """human labels and both scores for pairs where both videos have a `target` score."""
        rows = [(p.human, score_of(a, target), score_of(b, target)) for p, a, b in self.joined]
        rows = [r for r in rows if r[1] is not None and r[2] is not None]
        if not rows:
            return np.empty(0, int), np.empty(0), np.empty(0)
        human, first, second = (np.array(col) for col in zip(*rows))
        return human.astype(int), first.astype(float), second.astype(float)

    def unjoined_examples(self, limit: int = MAX_EXAMPLES) -> list[dict[str, Any]]:
        return [{"id": p.id, "missing": missing} for p, missing in self.unjoined[:limit]]


def join_pairs(pairs: list[PreferencePair], results: ResultsIndex) -> JoinedPairs:
    joined, unjoined = [], []
    join = VideoJoin(results.by_path, (v for p in pairs for v in (p.first, p.second)))
    for pair in pairs:
        first, second = join.find(pair.first), join.find(pair.second)
        if first is None or second is None:
            unjoined.append((pair, [v for v, r in ((pair.first, first), (pair.second, second)) if r is None]))
        else:
            joined.append((pair, first, second))
    return JoinedPairs(joined, unjoined, join.summary())


# ----------------------------------------------------------------------------------------------
# measuring


def _interval(ci: Any, eps: float | None = None) -> dict[str, Any]:
    out = {"value": ci.value, "low": ci.low, "high": ci.high}
    if eps is not None:
        out["eps"] = eps
    return out


def _accuracy_without_ties(human: np.ndarray, first: np.ndarray, second: np.ndarray) -> PairwiseAccuracy:
    return pairwise_accuracy(human, first, second, ties=False)


def measure_target(human: np.ndarray, first: np.ndarray, second: np.ndarray, n_resamples: int,
                   confidence: float, seed: int) -> dict[str, Any]:
    """tau and diff with CIs for one score (overall or a dimension)."""
    decided = human != 0
    out: dict[str, Any] = {"n_pairs": int(len(human)), "n_pairs_without_ties": int(decided.sum()),
                           "tau": None, "diff": None}
    if len(human) >= 2:
        tau = pairwise_accuracy(human, first, second, ties=True)
        ci = bootstrap_ci(pairwise_accuracy, human, first, second,
                          n_resamples=n_resamples, confidence=confidence, seed=seed)
        out["tau"] = _interval(ci, eps=tau.eps)
    if decided.sum() >= 2:
        # resample only the decided pairs: "diff" is defined on them alone
        ci = bootstrap_ci(_accuracy_without_ties, human[decided], first[decided], second[decided],
                          n_resamples=n_resamples, confidence=confidence, seed=seed)
        out["diff"] = _interval(ci)
    return out


def _recurring_videos(pairs: list[PreferencePair]) -> int:
    counts = Counter(v for p in pairs for v in {p.first, p.second})
    return sum(n > 1 for n in counts.values())


def evaluate_pairs(pairs: list[PreferencePair], results: ResultsIndex, n_resamples: int = 1000,
                   confidence: float = 0.95, seed: int = 0, rubric: Rubric | None = None) -> dict[str, Any]:
    """The `bench pairs` report: per target (overall and each dimension of the rubric, default FingER's five)
    tau and diff with CIs.

    The bootstrap resamples pairs, not videos: a pair is one human vote, and in GenAI-Bench each video
    appears in exactly one pair, so pairs share no video. `videos_in_several_pairs` counts the videos
    that do recur (their pairs are not independent, and the intervals come out too narrow)."""
    joined = join_pairs(pairs, results)
    if not joined.joined:
        examples = ", ".join(v for _, missing in joined.unjoined[:3] for v in missing[:1])
        raise DataError(f"none of the {len(pairs)} pairs has both videos in {results.path} "
                        f"(for example {examples}); are these results for this benchmark's videos?")
    metrics = {target: measure_target(*joined.arrays(target), n_resamples=n_resamples,
                                      confidence=confidence, seed=seed) for target in targets(rubric)}
    return {
        "n_pairs": len(pairs),
        "n_joined": len(joined.joined),
        "n_unjoined": len(joined.unjoined),
        "unjoined_examples": joined.unjoined_examples(),
        "human_votes": {"first": sum(p.human == 1 for p in pairs), "second": sum(p.human == -1 for p in pairs),
                        "tie": sum(p.human == 0 for p in pairs)},
        "join": joined.join,
        "results": results.summary(),
        "bootstrap": {"resamples": n_resamples, "confidence": confidence, "seed": seed, "unit": "pair",
                      "videos_in_several_pairs": _recurring_videos(pairs)},
        "metrics": metrics,
    }


# ----------------------------------------------------------------------------------------------
# manifest for `fingereval score --manifest`


def _files_by_name(folder: Path) -> dict[str, list[Path]]:
    found: dict[str, list[Path]] = {}
    for path in folder.rglob("*"):
        if path.is_file():
            found.setdefault(path.name, []).append(path)
    return found


def write_manifest(pairs: list[PreferencePair], videos_dir: str | Path, out: str | Path) -> dict[str, Any]:
    """Write one manifest line per distinct video of the pairs that exists under `videos_dir`:
    {"id": file name, "video": absolute path, "prompt": prompt}. Returns counts and missing examples."""
    folder = Path(videos_dir)
    if not folder.is_dir():
        raise DataError(f"videos folder {folder} does not exist or is not a folder")
    by_name = _files_by_name(folder)
    prompts: dict[str, str] = {}
    conflicts = 0
    for pair in pairs:
        for video in (pair.first, pair.second):
            if video in prompts and prompts[video] != pair.prompt:
                conflicts += 1  # same video, two prompts: keep the first
            prompts.setdefault(video, pair.prompt)
    rows, missing = [], []
    for video, prompt in prompts.items():
        exact = folder / video
        candidates = [exact] if exact.is_file() else by_name.get(video_name(video), [])
        if len(candidates) != 1:  # none, or the same name in several sub-folders: cannot tell which
            missing.append(video)
            continue
        rows.append({"id": video_name(video), "video": str(candidates[0].resolve()), "prompt": prompt})
    out_path = write_jsonl(out, rows)
    return {"manifest": str(out_path), "videos": len(prompts), "written": len(rows),
            "missing": len(missing), "missing_examples": missing[:MAX_EXAMPLES], "prompt_conflicts": conflicts}
