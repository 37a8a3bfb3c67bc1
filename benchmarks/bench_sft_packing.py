"""Packed SFT rows (one video, all its questions, shared-prefix layout) vs one question per row, same run.

Both train the same tiny Qwen2.5-VL on the same probe questions with the same optimiser; we time
forward + backward + step over every question once and print questions per second and the ratio.
The packed row runs the vision tower and the shared prefix once per video instead of once per question.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/bench_sft_packing.py            # CPU, about a minute
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=24)
    ap.add_argument("--questions-per-step", type=int, default=8, help="per-question batch size; packed steps hold ~the same")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    import torch

    from fingereval.tiny.model import PROBE_SHAPE, build_tiny_in_memory
    from fingereval.probes.make import make_probes
    from fingereval.train.collate import PackedSFTCollator, SFTCollator, video_groups
    from fingereval.train.examples import ClipCache, training_rows
    from fingereval.video import VideoConfig

    tmp = Path(tempfile.mkdtemp(prefix="fingereval-pack-"))
    probes = make_probes(tmp / "probes", args.videos, seed=0)
    rows = training_rows(probes.qa_path)
    for r in rows:
        r["video"] = str(probes.root / r["video"])
    groups = video_groups(rows)
    video = VideoConfig(fps=2.0, max_frames=8, size=112)
    model, processor = build_tiny_in_memory(PROBE_SHAPE, device=args.device)
    clips = ClipCache(video)
    per_q = SFTCollator(processor, clips, reason=True)
    packed = PackedSFTCollator(processor, clips, reason=True, rope_index=model.model.get_rope_index)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    n_q = len(rows)
    videos_per_step = max(1, round(args.questions_per_step * len(groups) / n_q))

    def epoch(batches) -> float:
        start = time.perf_counter()
        for batch in batches:
            loss = model(**{k: v.to(args.device) for k, v in batch.items()}).loss
            loss.backward()
            opt.step()
            opt.zero_grad()
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter() - start

    k = args.questions_per_step
    # collation is timed too: it is part of every training step
    per_q_batches = lambda: (per_q(rows[i:i + k]) for i in range(0, n_q, k))  # noqa: E731
    packed_batches = lambda: (packed(groups[i:i + videos_per_step]) for i in range(0, len(groups), videos_per_step))  # noqa: E731
    for r in rows:
        clips(r["video"])  # decode once up front: both runs read frames from memory
    epoch(per_q_batches())  # warm-up
    per_q_s = min(epoch(per_q_batches()) for _ in range(2))
    packed_s = min(epoch(packed_batches()) for _ in range(2))
    report = {"videos": len(groups), "questions": n_q, "questions_per_step": k, "videos_per_packed_step": videos_per_step,
              "per_question_s": round(per_q_s, 3), "packed_s": round(packed_s, 3),
              "per_question_q_per_s": round(n_q / per_q_s, 1), "packed_q_per_s": round(n_q / packed_s, 1),
              "speedup": round(per_q_s / packed_s, 2), "device": args.device, "threads": torch.get_num_threads()}
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{n_q} questions on {len(groups)} videos, reason targets: one question per row {per_q_s:.2f} s "
              f"({report['per_question_q_per_s']} q/s), packed per video {packed_s:.2f} s ({report['packed_q_per_s']} q/s): "
              f"{report['speedup']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
