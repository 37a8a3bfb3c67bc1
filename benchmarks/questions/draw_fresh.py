"""Draw a fresh part of the labelled sample: 30 VideoGen-Eval prompts that no earlier split holds.

The report and tune splits are a draw from the project's copy of VideoGen-Eval's prompts
(src/fingereval/resources/t2v_prompts.jsonl, attribution in src/fingereval/resources/README.md); the 577
prompts not in the labelled sample were never labelled and the rules were never tuned on them. A seeded draw
(seed 2026) by category, in the tune split's proportions: 10 "detailed", 12 "Merge User-Input" and 8 from the
small categories, each among the prompts whose id is not already in benchmarks/questions/entities_labelled.jsonl.
The second fresh part, fresh2 (issue 30, drawn after the rules were changed on fresh's errors), is the same draw
with seed 2027 among the prompts in neither report, tune nor fresh.
Prints the drawn prompts as JSON lines (`id`, `category`, `prompt`), in the order they were drawn.

    .venv/bin/python benchmarks/questions/draw_fresh.py             # fresh
    .venv/bin/python benchmarks/questions/draw_fresh.py fresh2      # fresh2
"""
from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROMPTS = ROOT / "src" / "fingereval" / "resources" / "t2v_prompts.jsonl"
LABELS = ROOT / "benchmarks" / "questions" / "entities_labelled.jsonl"
# each split: its seed and the splits drawn before it, whose prompts are left out of its pool
DRAWS = {"fresh": (2026, ("report", "tune", "heldout")), "fresh2": (2027, ("report", "tune", "heldout", "fresh"))}
PER_GROUP = {"detailed": 10, "Merge User-Input": 12, "small": 8}


def _group(category: str) -> str:
    return category if category in ("detailed", "Merge User-Input") else "small"


def draw(split: str = "fresh") -> list[dict]:
    """The drawn prompts. Only ids of the splits drawn before this one are left out of the pool, so the draw
    gives the same prompts after this split (and later ones) were added to the labelled file."""
    seed, before = DRAWS[split]
    labelled = {r["id"] for r in map(json.loads, LABELS.read_text().splitlines()) if r["split"] in before}
    unseen = [r for r in map(json.loads, PROMPTS.read_text().splitlines()) if r["id"] not in labelled]
    rng = random.Random(seed)
    drawn = []
    for group, n in PER_GROUP.items():
        drawn += rng.sample([r for r in unseen if _group(r["category"]) == group], n)
    return drawn


if __name__ == "__main__":
    split = sys.argv[1] if len(sys.argv) > 1 else "fresh"
    if split not in DRAWS:
        sys.exit(f"draw_fresh.py: no draw named {split!r}; name one of {', '.join(DRAWS)}")
    for row in draw(split):
        print(json.dumps({"id": row["id"], "category": row["category"], "prompt": row["prompt"]}, ensure_ascii=False))
