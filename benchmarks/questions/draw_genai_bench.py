"""Draw the held-out prompts of the labelled sample from GenAI-Bench (a source the rules were not tuned on).

GenAI-Bench's video prompts ship with the project in tests/data/genai_bench_video_test_pairs.json (GenAI-Arena /
TIGER-Lab, MIT licence; attribution in tests/data/README.md). Many prompts repeat one scene with a camera or
style suffix ("..., pan left", "..., in cyberpunk style") or one frame with another animal ("a cow / a horse
running to join a herd of its kind"): one prompt per scene (a prompt whose first or last five words were seen
is dropped), then a seeded draw of 30, 8 of them among the prompts with a pronoun (so the pronoun rule is
measured on unseen text) and 22 among the rest. Prints the drawn prompts as JSON lines (`id`, `prompt`), in the order they were drawn.

    .venv/bin/python benchmarks/questions/draw_genai_bench.py
"""
from __future__ import annotations

import json
import random
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PAIRS = ROOT / "tests" / "data" / "genai_bench_video_test_pairs.json"
SEED = 30
PRONOUN = re.compile(r"\b(i|you|he|she|it|we|they|me|him|her|us|them|its|their|his|itself|themselves|"
                     r"someone|something)\b", re.I)


def scenes() -> list[str]:
    """One prompt per scene, the shortest wording of it (the one without a suffix), sorted."""
    seen: set[str] = set()
    kept = []
    every = {" ".join(p["prompt"].split()) for p in json.loads(PAIRS.read_text())}
    for prompt in sorted(every, key=lambda p: (len(p), p)):
        words = prompt.lower().split()
        keys = {"first " + " ".join(words[:5]), "last " + " ".join(words[-5:])}
        if not keys & seen:
            kept.append(prompt)
        seen |= keys
    return sorted(kept)


def draw() -> list[str]:
    rng = random.Random(SEED)
    every = scenes()
    with_pronoun = [p for p in every if PRONOUN.search(p)]
    without = [p for p in every if not PRONOUN.search(p)]
    return rng.sample(with_pronoun, 8) + rng.sample(without, 22)


if __name__ == "__main__":
    for n, prompt in enumerate(draw(), start=1):
        print(json.dumps({"id": f"gab-{n:03d}", "prompt": prompt}, ensure_ascii=False))
