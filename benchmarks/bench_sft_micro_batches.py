"""Packed SFT steps in micro-batches of similar length (`train_sft(micro_batches=2)`) vs one batch, same run.

Both train the probe-shape tiny model from the same start on the same probe questions with the demo's
settings (8 videos a step, reasons); only the split of each step differs, so the ratio is padding saved
less the cost of a second, smaller forward. Each run decodes its own clips, so both pay the same decoding;
the two alternate `--repeats` times and the fastest of each counts (the first run also warms torch up).

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_sft_micro_batches.py --videos 200 --epochs 2   # CPU, ~3 min
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=200)
    ap.add_argument("--epochs", type=float, default=2.0)
    ap.add_argument("--micro-batches", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args(argv)

    from fingereval.tiny.model import PROBE_SHAPE, build_tiny_model
    from fingereval.tiny.demo import DEMO_SFT, DEMO_VIDEO
    from fingereval.probes import make_probes
    from fingereval.train.sft import train_sft

    settings = DEMO_SFT | {"epochs": args.epochs}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        probes = make_probes(tmp / "probes", args.videos, seed=0, size=112, max_entities=1, radius=0.2)
        base = build_tiny_model(tmp / "tiny", PROBE_SHAPE, seed=0)
        runs = {}
        for _ in range(args.repeats):
            for micro in (1, args.micro_batches):
                result = train_sft(probes.root / "qa.jsonl", base, tmp / f"sft{micro}", reason=True, lora=False,
                                   video_config=DEMO_VIDEO, seed=0, log_every=1000,
                                   **(settings | {"micro_batches": micro}))
                best = runs.get(micro, (float("inf"), None))[0]
                runs[micro] = (min(best, result.seconds), result.logged("train_loss") or result.logged("loss"))
    (one, loss_one), (split, loss_split) = runs[1], runs[args.micro_batches]
    print(f"{args.videos} videos, {args.epochs:g} epochs, 8 videos a step: one batch {one:.1f} s, "
          f"{args.micro_batches} length-sorted micro-batches {split:.1f} s -> {one / split:.2f}x faster; "
          f"mean training loss {loss_one[-1]:.4f} vs {loss_split[-1]:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
