"""What a trained probe model's "Does the X appear in the video?" answers follow: the question, or the video alone.

Each held-out video is asked its own appear question and the appear questions of the next three videos (shapes
that are mostly not there). Yes shares are printed by whether the asked shape and colour match the video's
named shape, and by whether the video's own named shape is there. A model that reads the question says yes only
where the asked colour is drawn; one that answers from the video alone says yes to other videos' shapes as often
as to its own (docs/demo.md, "The world: one shape, disguised").

    python benchmarks/appear_swap.py DEMO_OUT [--videos 80]
"""
from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("demo_out", type=Path, help="a demo's --out-dir (its probes/ and sft/)")
    ap.add_argument("--videos", type=int, default=80)
    args = ap.parse_args()

    from fingereval.answer.transformers_backend import TransformersAnswerer
    from fingereval.data.instruct import group_by_video, instruct_questions, load_instruct
    from fingereval.tiny.demo import DEMO_VIDEO, REASON_TOKENS
    from fingereval.video import load_video

    answerer = TransformersAnswerer(args.demo_out / "sft", video_config=DEMO_VIDEO, max_new_tokens=REASON_TOKENS)
    groups = list(group_by_video(load_instruct(args.demo_out / "probes" / "qa_heldout.jsonl")).values())[:args.videos]
    appear = [next(r for r in recs if r.form == "appear") for recs in groups]
    yes = defaultdict(list)
    for i, own in enumerate(appear):
        asked = [own] + [appear[(i + k) % len(appear)] for k in (1, 2, 3)]
        answers = answerer.answer(load_video(own.video, DEMO_VIDEO), instruct_questions(asked), reason=True)
        own_colour, own_shape = own.entity.split()
        for k, (record, answer) in enumerate(zip(asked, answers)):
            colour, shape = record.entity.split()
            key = (f"own question, truth {own.answer}" if k == 0 else
                   f"other video's: same shape {shape == own_shape}, same colour {colour == own_colour}, "
                   f"own named shape there: {own.answer}")
            yes[key].append(answer.p_yes >= 0.5)
    for key, said in sorted(yes.items()):
        print(f"{key:90s} {len(said):4d} questions, yes {sum(said) / len(said):.0%}")


if __name__ == "__main__":
    main()
