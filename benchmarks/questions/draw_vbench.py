"""Draw the vbench part of the labelled sample: 30 VBench prompts, a source the rules were never tuned on.

VBench's prompts ship here as benchmarks/questions/vbench/VBench_full_info.json (Vchitect/VBench, the file of
the vbench 0.1.5 wheel, Apache-2.0; attribution and licence in benchmarks/questions/vbench/). Each prompt names
the VBench dimensions it serves; its group is the first of them (object_class, color, scene, multiple_objects,
human_action, spatial_relationship, temporal_flickering, subject_consistency, overall_consistency,
appearance_style, temporal_style).

Why a pool and not all 946: GenAI-Bench's video prompts (tests/data/genai_bench_video_test_pairs.json), whose
generator output the rules were written on in issue 30, hold 454 of VBench's prompts word for word and more of
its scenes with another style suffix. So a prompt is left out when its first or last five words (lower case)
open or close a GenAI-Bench prompt (draw_genai_bench.py's test for one scene), when another split of
entities_labelled.jsonl holds it, or when VBench repeats it under another dimension (the first one is kept).

The draw, seeded (2028), group by group in the order of PER_GROUP: 2 each from the one-to-three-word groups
(object_class, scene, color), 3 each from the templated ones (multiple_objects, human_action,
spatial_relationship), and 15 from the free sentences: 4 temporal_flickering, 4 subject_consistency,
6 overall_consistency and 1 from the two style groups together (the pool keeps one scene of them, the Bund,
under 8 suffixes, so one is enough). Prints JSON lines (`id` vb-001 ..., `category`, `prompt`) in draw order.

The vbench2 split (issue 30, drawn after the rules were changed on vbench's errors) is the same draw with seed
2029 among the prompts left once vbench's are out too; its ids are vb2-001 ... Each split leaves out the labelled
splits drawn before it, not itself nor the ones drawn after, so either draw is the same once later labels exist.

    .venv/bin/python benchmarks/questions/draw_vbench.py            # vbench (seed 2028)
    .venv/bin/python benchmarks/questions/draw_vbench.py vbench2    # vbench2 (seed 2029)
"""
from __future__ import annotations

import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VBENCH = ROOT / "benchmarks" / "questions" / "vbench" / "VBench_full_info.json"
GENAI_BENCH = ROOT / "tests" / "data" / "genai_bench_video_test_pairs.json"
LABELS = ROOT / "benchmarks" / "questions" / "entities_labelled.jsonl"
# split -> (seed, id prefix), in the order the splits were drawn
SPLITS = {"vbench": (2028, "vb"), "vbench2": (2029, "vb2")}
# group -> how many; a group named "a+b" draws from the union of VBench's groups a and b
PER_GROUP = {"object_class": 2, "scene": 2, "color": 2,
             "multiple_objects": 3, "human_action": 3, "spatial_relationship": 3,
             "temporal_flickering": 4, "subject_consistency": 4, "overall_consistency": 6,
             "appearance_style+temporal_style": 1}


def _norm(prompt: str) -> str:
    return " ".join(prompt.split())


def _scene_keys(prompt: str) -> set[str]:
    """The first and the last five words: two prompts that share either show one scene (draw_genai_bench.py)."""
    words = prompt.lower().split()
    return {"first " + " ".join(words[:5]), "last " + " ".join(words[-5:])}


def pool(split: str = "vbench") -> list[dict]:
    """VBench's prompts that neither GenAI-Bench nor the labelled splits drawn before `split` hold, once each, in
    file order."""
    seen_keys = set().union(*(_scene_keys(_norm(p["prompt"])) for p in json.loads(GENAI_BENCH.read_text())))
    rows = [json.loads(line) for line in LABELS.read_text().splitlines() if line.strip()]
    # this split's own labels and those of the splits drawn after it are left out of the test, so the draw is the
    # same once they are in the file
    later = list(SPLITS)[list(SPLITS).index(split):]
    labelled = {_norm(r["prompt"]).lower() for r in rows if r["split"] not in later}
    kept, texts = [], set()
    for row in json.loads(VBENCH.read_text()):
        prompt = _norm(row["prompt_en"])
        if _scene_keys(prompt) & seen_keys or prompt.lower() in labelled or prompt.lower() in texts:
            continue
        texts.add(prompt.lower())
        kept.append({"category": row["dimension"][0], "prompt": prompt})
    return kept


def draw(split: str = "vbench") -> list[dict]:
    every = pool(split)
    seed, prefix = SPLITS[split]
    rng = random.Random(seed)
    drawn = []
    for group, n in PER_GROUP.items():
        drawn += rng.sample([r for r in every if r["category"] in group.split("+")], n)
    return [{"id": f"{prefix}-{i:03d}", **r} for i, r in enumerate(drawn, start=1)]


if __name__ == "__main__":
    name = sys.argv[1] if len(sys.argv) > 1 else "vbench"
    if name not in SPLITS:
        sys.exit(f"unknown split {name!r}: give one of {', '.join(SPLITS)}")
    for row in draw(name):
        print(json.dumps(row, ensure_ascii=False))
