"""Vision-tower recipes for the probe model, compared on one probe world: held-out balanced accuracy per scene label.

Each recipe builds the demo's tiny Qwen2.5-VL (PROBE_SHAPE with some fields replaced), pretrains its tower
on the world's scene labels exactly as the demo does (`fingereval.tiny.vision.pretrain_vision`), and reports
the held-out balanced accuracy of every label. The first recipe named is the baseline; the table gives each
label's change against it, in the same run.

    python benchmarks/tower_recipes.py --world demo_out/probes --recipes no-change-filters,shipped,change-filters-12

Without --world it makes the demo's seed-N world (1,000 videos) under --out. Results are in docs/tiny-model.md.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

# name -> (PROBE_SHAPE fields replaced, pretraining settings replaced); the demo's settings otherwise.
RECIPES = {
    "shipped": ({}, {}),
    "no-change-filters": ({"change_filters": 0}, {}),
    "no-texture-filters": ({"texture_filters": 0}, {}),
    "change-filters-3": ({"change_filters": 3}, {}),
    "change-filters-12": ({"change_filters": 12}, {}),
    "lr-1e-3": ({}, {"lr": 1e-3}),
    "epochs-40": ({}, {"epochs": 40}),
}
LABELS = ("blur", "noise", "colour_change", "shape_change", "flicker")


def world(args) -> Path:
    from fingereval.probes.make import make_probes, split_probes
    from fingereval.tiny.demo import DEMO_VIDEO, DEMO_WORLD

    if args.world:
        return Path(args.world)
    probes = make_probes(args.out / "probes", args.videos, seed=args.seed, size=DEMO_VIDEO.size, seconds=4.0,
                          **DEMO_WORLD | {"disguise": False})  # the world its documented figures were measured on
    split_probes(probes.root, held_out=0.2, seed=args.seed)
    return probes.root


def run_recipe(name: str, probe_dir: Path, args) -> dict:
    from fingereval.tiny.demo import DEMO_VIDEO, DEMO_VISION
    from fingereval.tiny.model import PROBE_SHAPE, build_tiny_model
    from fingereval.tiny.vision import pretrain_vision

    shape_fields, vision = RECIPES[name]
    shape = dataclasses.replace(PROBE_SHAPE, **shape_fields)
    base = build_tiny_model(args.out / name / "random", shape, seed=args.seed)
    t0 = time.perf_counter()
    result = pretrain_vision(base, probe_dir, args.out / name / "tower", video_config=DEMO_VIDEO, seed=args.seed,
                             on_log=lambda m: None, **DEMO_VISION | vision)
    return {"recipe": name, "mean": result.held_out_accuracy, "per_label": result.per_label,
            "seconds": round(time.perf_counter() - t0, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", help="a probe folder with scenes.jsonl and qa_heldout.jsonl (default: make one)")
    parser.add_argument("--recipes", default="no-change-filters,shipped", help=f"comma-separated, of {', '.join(RECIPES)}")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--videos", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=Path("runs/tower_recipes"))
    parser.add_argument("--json", type=Path, help="also write the rows here")
    args = parser.parse_args()
    names = args.recipes.split(",")
    if unknown := [n for n in names if n not in RECIPES]:
        parser.error(f"unknown recipes {unknown}; choose from {', '.join(RECIPES)}")
    probe_dir = world(args)
    rows = []
    for name in names:
        rows.append(run_recipe(name, probe_dir, args))
        print(json.dumps(rows[-1]), flush=True)
    base = rows[0]
    print(f"\n| recipe | mean | {' | '.join(LABELS)} | seconds |\n|---|---|{'---|' * len(LABELS)}---|")
    for row in rows:
        cells = [f"{row['per_label'].get(label, float('nan')):.3f}"
                 + ("" if row is base else f" ({row['per_label'].get(label, 0) - base['per_label'].get(label, 0):+.3f})")
                 for label in LABELS]
        print(f"| {row['recipe']} | {row['mean']:.3f} | {' | '.join(cells)} | {row['seconds']:.0f} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
