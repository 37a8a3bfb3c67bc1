"""Draw the fresh part of the labelled sample: 30 VideoGen-Eval prompts that no other split holds.

The report and tune splits are a draw from the project's copy of VideoGen-Eval's prompts
(src/fingereval/resources/t2v_prompts.jsonl, attribution in src/fingereval/resources/README.md); the 577
prompts not in the labelled sample were never labelled and the rules were never tuned on them. A seeded draw
(seed 2026) by category, in the tune split's proportions: 10 "detailed", 12 "Merge User-Input" and 8 from the
small categories, each among the prompts whose id is not already in benchmarks/questions/entities_labelled.jsonl.
Prints the drawn prompts as JSON lines (`id`, `category`, `prompt`), in the order they were drawn.

    .venv/bin/python benchmarks/questions/draw_fresh.py
"""
from __future__ import annotations

import json
import random
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROMPTS = ROOT / "src" / "fingereval" / "resources" / "t2v_prompts.jsonl"
LABELS = ROOT / "benchmarks" / "questions" / "entities_labelled.jsonl"
SEED = 2026
PER_GROUP = {"detailed": 10, "Merge User-Input": 12, "small": 8}


def _group(category: str) -> str:
    return category if category in ("detailed", "Merge User-Input") else "small"


def draw() -> list[dict]:
    """The drawn prompts. Only ids of the other splits are left out of the pool, so the draw gives the same
    prompts after the fresh split was added to the labelled file."""
    labelled = {r["id"] for r in map(json.loads, LABELS.read_text().splitlines()) if r["split"] != "fresh"}
    unseen = [r for r in map(json.loads, PROMPTS.read_text().splitlines()) if r["id"] not in labelled]
    rng = random.Random(SEED)
    drawn = []
    for group, n in PER_GROUP.items():
        drawn += rng.sample([r for r in unseen if _group(r["category"]) == group], n)
    return drawn


if __name__ == "__main__":
    for row in draw():
        print(json.dumps({"id": row["id"], "category": row["category"], "prompt": row["prompt"]}, ensure_ascii=False))
