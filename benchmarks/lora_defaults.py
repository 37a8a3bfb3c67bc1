"""LoRA's defaults (rank, learning rate) measured on the probe world: held-out accuracy and time per setting.

Each seed makes the demo's probe world (`--videos` videos, one large shape each, 80/20 split by video) and the
demo's tiny Qwen2.5-VL with its vision tower pretrained on the training videos' scene labels
(`fingereval.tiny.demo`). From that one base, each setting runs the demo's SFT (reasons, packed, 8 videos a
step in 2 micro-batches, constant schedule, 5 epochs) with LoRA adapters of the given rank (alpha = 2 x rank)
on the language model's attention and MLP projections, at the given learning rate, and is scored on the
held-out questions with reasons (`evaluate_qa`, a 95 % interval over resampled videos). `--full-lr` adds the
demo's full fine-tuning as a reference row.

    OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/lora_defaults.py --seeds 0 --ranks 8,32 \\
        --lrs 3e-4,1e-3,3e-3 --full-lr 1e-3 --out runs/lora_defaults
    OMP_NUM_THREADS=1 nice .venv/bin/python benchmarks/lora_defaults.py --seeds 1,2 --ranks 16 --lrs 1e-3 \\
        --out runs/lora_defaults                      # confirm a pick on other worlds

Every finished setting is written to OUT/seed-N/<setting>.json and skipped when the command is run again, so an
interrupted sweep resumes. The table (all settings found under OUT) is printed at the end; the results and what
they say for a 7B are in docs/training.md, "LoRA defaults, measured" (the rows: benchmarks/results/lora_defaults.json).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path


def world_and_base(out: Path, seed: int, videos: int) -> tuple[Path, Path, Path]:
    """The seed's probe world (made once) and its tiny model with the pretrained tower: (train, held-out, base)."""
    from fingereval.probes.make import make_probes, split_probes
    from fingereval.tiny.demo import DEMO_VIDEO, DEMO_VISION, DEMO_WORLD
    from fingereval.tiny.model import PROBE_SHAPE, build_tiny_model
    from fingereval.tiny.vision import pretrain_vision

    root, base = out / "probes", out / "tiny-base"
    train, held = root / "qa_train.jsonl", root / "qa_heldout.jsonl"
    if not held.exists():
        probes = make_probes(root, videos, seed=seed, size=DEMO_VIDEO.size, seconds=4.0,
                             **DEMO_WORLD | {"disguise": False})  # the world its documented figures were measured on
        split_probes(probes.root, held_out=0.2, seed=seed)
    if not (base / "config.json").exists():
        random_base = build_tiny_model(out / "tiny-random", PROBE_SHAPE, seed=seed)
        vision = pretrain_vision(random_base, root, base, video_config=DEMO_VIDEO, seed=seed, on_log=lambda m: None,
                                 **DEMO_VISION)
        print(f"seed {seed}: tower pretrained in {vision.seconds:.0f} s, held-out label accuracy "
              f"{vision.held_out_accuracy:.3f}", flush=True)
    return train, held, base


def run_setting(name: str, lora: bool, rank: int, lr: float, *, train: Path, held: Path, base: Path, out: Path,
                seed: int, epochs: float | None) -> dict:
    """SFT from `base` with the demo's settings (LoRA of `rank`, or full, at `lr`), then held-out accuracy."""
    from fingereval.answer.transformers_backend import TransformersAnswerer
    from fingereval.data.instruct import load_instruct
    from fingereval.measure.model_bench import evaluate_qa
    from fingereval.tiny.demo import DEMO_SFT, DEMO_VIDEO, REASON_TOKENS
    from fingereval.train.sft import train_sft

    # the constant rate the sweep was measured at (the demo now decays its rate: cosine)
    settings = DEMO_SFT | {"lr": lr, "schedule": "constant"} | ({"epochs": epochs} if epochs else {})
    if lora:
        settings |= {"lora_rank": rank}
    model_dir = out / name
    result = train_sft(train, base, model_dir, reason=True, lora=lora, video_config=DEMO_VIDEO, seed=seed,
                       log_every=25, **settings)
    t0 = time.perf_counter()
    answerer = TransformersAnswerer(model_dir, video_config=DEMO_VIDEO, max_new_tokens=REASON_TOKENS)
    report = evaluate_qa(answerer, load_instruct(held), reason=True, n_resamples=500)
    trained = sum(p.numel() for p in answerer.model.parameters())  # merged: the whole model; adapters counted below
    return {"seed": seed, "setting": name, "lora": lora, "rank": rank if lora else None, "lr": lr,
            "epochs": settings["epochs"],
            "accuracy": report["accuracy"], "ci95": report["ci95"], "n": report["n"],
            "format_rate": 1 - report["forced_answers"] / report["n"],  # answers read without the answer tags
            "per_dimension": {k: v["accuracy"] for k, v in report["per_dimension"].items()},
            "train_loss": (result.logged("loss") or [None])[-1],  # the last 25 steps' mean
            "sft_seconds": round(result.seconds, 1), "eval_seconds": round(time.perf_counter() - t0, 1),
            "adapter_parameters": lora_parameters(answerer.model, rank) if lora else None,
            "trainable_parameters": trainable_parameters(answerer.model, rank if lora else None),
            "model_parameters": trained}


def trainable_parameters(model, rank: int | None) -> int:
    """What the setting trains: LoRA's adapters, or (full, tower frozen as in the demo) the language model."""
    if rank:
        return lora_parameters(model, rank)
    return sum(p.numel() for name, p in model.named_parameters() if ".visual." not in f".{name}")


def lora_parameters(model, rank: int) -> int:
    """Adapter parameters LoRA of `rank` adds on the targeted projections: rank x (in + out) for each."""
    import re

    from fingereval.train.sft import LORA_TARGETS

    return sum(rank * (m.in_features + m.out_features) for name, m in model.named_modules()
               if re.fullmatch(LORA_TARGETS, name) and hasattr(m, "in_features"))


def setting_name(lora: bool, rank: int, lr: float) -> str:
    return f"lora-r{rank}-lr{lr:g}" if lora else f"full-lr{lr:g}"


def table(out: Path) -> str:
    rows = [json.loads(p.read_text()) for p in sorted(out.glob("seed-*/*.json"))]
    dims = sorted({d for r in rows for d in r["per_dimension"]})
    short = {"visual_quality": "visual", "temporal_consistency": "temporal", "dynamic_degree": "dynamic",
             "text_alignment": "text", "factual_consistency": "factual"}
    lines = [f"| world | SFT seed | setting | held-out accuracy [95 % CI] | {' | '.join(short.get(d, d) for d in dims)} "
             "| format | last train loss | trained parameters | SFT s | eval s |",
             "|---|---|---|---|" + "---|" * len(dims) + "---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["world_seed"], not r["lora"], r["rank"] or 0, r["lr"], r["seed"])):
        ci = f" [{r['ci95'][0]:.1%}, {r['ci95'][1]:.1%}]" if r["ci95"] else ""
        cells = " | ".join(f"{r['per_dimension'].get(d, float('nan')):.1%}" for d in dims)
        loss = "" if r["train_loss"] is None else f"{r['train_loss']:.3f}"
        lines.append(f"| {r['world_seed']} | {r['seed']} | {r['setting']} | {r['accuracy']:.1%}{ci} of {r['n']} | {cells} "
                     f"| {r['format_rate']:.0%} | {loss} | {r.get('trainable_parameters', 0):,} | {r['sft_seconds']:.0f} "
                     f"| {r['eval_seconds']:.0f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0", help="comma-separated; each makes its own world and tower")
    ap.add_argument("--videos", type=int, default=400)
    ap.add_argument("--ranks", default="8,32")
    ap.add_argument("--lrs", default="3e-4,1e-3,3e-3")
    ap.add_argument("--full-lr", type=float, help="also run full fine-tuning at this learning rate (the demo: 1e-3)")
    ap.add_argument("--epochs", type=float, help="SFT epochs [default: the demo's]")
    ap.add_argument("--train-seeds", help="comma-separated SFT seeds on each world [default: the world's seed]")
    ap.add_argument("--out", type=Path, default=Path("runs/lora_defaults"))
    args = ap.parse_args(argv)
    ranks = [int(r) for r in args.ranks.split(",") if r]
    lrs = [float(x) for x in args.lrs.split(",") if x]
    settings = [(True, rank, lr) for rank in ranks for lr in lrs]
    if args.full_lr:
        settings.append((False, 0, args.full_lr))
    for seed in (int(s) for s in args.seeds.split(",")):
        out = args.out / f"seed-{seed}"
        train, held, base = world_and_base(out, seed, args.videos)
        train_seeds = [int(s) for s in args.train_seeds.split(",")] if args.train_seeds else [seed]
        for train_seed in train_seeds:
            for lora, rank, lr in settings:
                name = setting_name(lora, rank, lr) + ("" if train_seed == seed else f"-sft{train_seed}")
                done = out / f"{name}.json"
                if done.exists():
                    continue
                row = run_setting(name, lora, rank, lr, train=train, held=held, base=base, out=out, seed=train_seed,
                                  epochs=args.epochs)
                done.write_text(json.dumps({**row, "world_seed": seed}, indent=2) + "\n")
                print(json.dumps(row), flush=True)
    print(table(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
