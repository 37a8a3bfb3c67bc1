"""Make a probe set on disk: videos/*.mp4, qa.jsonl (FingER-Instruct), ratings.jsonl, scenes.jsonl, prompts.csv, manifest.json."""
from __future__ import annotations

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fingereval.data.instruct import load_instruct, split_by_video, write_instruct
from fingereval.errors import DataError
from fingereval.io import write_jsonl
from fingereval.probes.questions import FORMS, defect_notes, qa_records, ratings
from fingereval.probes.scene import scene_labels
from fingereval.probes.render import pick_codec, render_frames, write_mp4
from fingereval.probes.world import plan_probe

QA_FILE = "qa.jsonl"
RATINGS_FILE = "ratings.jsonl"
PROMPTS_FILE = "prompts.csv"  # video file name inside videos/ -> prompt: `score DIR --prompts` reads it
SCENES_FILE = "scenes.jsonl"  # per-video scene labels, for pretraining a vision tower
MANIFEST_FILE = "manifest.json"
TRAIN_FILE = "qa_train.jsonl"
HELD_OUT_FILE = "qa_heldout.jsonl"


@dataclass(frozen=True)
class ProbeSet:
    root: Path
    qa_path: Path
    ratings_path: Path
    manifest_path: Path
    videos: tuple[Path, ...]
    n_videos: int
    n_questions: int


def make_probes(
    out_dir: str | Path,
    n: int,
    seed: int = 0,
    size: int = 112,
    seconds: float = 4.0,
    fps: int = 8,
    progress: Callable[[int, int], None] | None = None,
    max_entities: int = 3,
    radius: float = 0.1,
    distractors: int = 0,
    hard_share: float = 0.0,
    disguise: bool = False,
) -> ProbeSet:
    """Render `n` probe videos with planted defects and write their questions and ratings.

    `distractors`, `hard_share` and `disguise` are plan_probe's (unnamed still shapes; the share of hard-tier
    probes; off-prompt shapes carrying a named entity's defects).
    Probe i depends only on (seed, i and the other arguments): the same arguments give the same
    qa.jsonl and ratings.jsonl bytes and the same decoded frames, and the first m probes of a
    larger set are the m probes of a smaller one.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if size < 32 or size % 2:
        raise ValueError(f"size must be even and at least 32 (yuv420p needs even sides), got {size}")
    root = Path(out_dir)
    videos_dir = root / "videos"
    videos_dir.mkdir(parents=True, exist_ok=True)
    codec = pick_codec()
    width = max(4, len(str(n - 1)))
    qa_rows: list[dict] = []
    rating_rows: list[dict] = []
    scene_rows: list[dict] = []
    videos: list[Path] = []
    for index in range(n):
        spec = plan_probe(seed, index, size=size, seconds=seconds, fps=fps, max_entities=max_entities, radius=radius,
                          distractors=distractors, hard_share=hard_share, disguise=disguise)
        spec.video_id = f"p{index:0{width}d}"
        relative = f"videos/{spec.video_id}.mp4"
        videos.append(write_mp4(root / relative, render_frames(spec), fps=fps, codec=codec))
        qa_rows += qa_records(spec, relative)
        rating_rows.append({"video_id": spec.video_id, "video": relative, "prompt": spec.prompt,
                            **ratings(spec), "defects": "; ".join(defect_notes(spec))})  # text: rating loaders skip it
        scene_rows.append({"video_id": spec.video_id, "video": relative, "labels": scene_labels(spec)})
        if progress is not None:
            progress(index + 1, n)
    qa_path, ratings_path, manifest_path = root / QA_FILE, root / RATINGS_FILE, root / MANIFEST_FILE
    write_jsonl(qa_path, qa_rows)
    write_jsonl(ratings_path, rating_rows)
    write_jsonl(root / SCENES_FILE, scene_rows)
    write_prompts_csv(root / PROMPTS_FILE, rating_rows)
    manifest = {"n": n, "seed": seed, "size": size, "seconds": seconds, "fps": fps, "codec": codec,
                "max_entities": max_entities, "radius": radius, "distractors": distractors, "hard_share": hard_share,
                "disguise": disguise,
                "question_forms": {k: {"dimension": f.dimension, "question": f.template, "good_answer": f.good_answer}
                                   for k, f in FORMS.items()}}
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return ProbeSet(root=root, qa_path=qa_path, ratings_path=ratings_path, manifest_path=manifest_path,
                    videos=tuple(videos), n_videos=n, n_questions=len(qa_rows))


def write_prompts_csv(path: Path, rating_rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["video", "prompt"])
        writer.writerows([Path(row["video"]).name, row["prompt"]] for row in rating_rows)


def split_probes(probe_dir: str | Path, held_out: float = 0.2, seed: int = 0) -> tuple[Path, Path]:
    """Split a probe set's qa.jsonl by video into qa_train.jsonl and qa_heldout.jsonl beside it."""
    root = Path(probe_dir)
    qa_path = root / QA_FILE
    if not qa_path.exists():
        raise DataError(f"{root} has no {QA_FILE}; make one with `fingereval probes make {root} --n 200`")
    train, held = split_by_video(load_instruct(qa_path), held_out=held_out, seed=seed)
    return write_instruct(root / TRAIN_FILE, train), write_instruct(root / HELD_OUT_FILE, held)
