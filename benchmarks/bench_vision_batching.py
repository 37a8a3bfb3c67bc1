"""Vision pretraining step: one tower call per batch (`pooled_videos`) vs one call per video, same run.

Both run forward and backward through the probe-shape tiny tower on the same processed probe clips
(decoding excluded), so the ratio is the tower step alone; the pooled outputs of the two are compared.

    .venv/bin/python benchmarks/bench_vision_batching.py --videos 32 --batch 16      # CPU, under a minute
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=32)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)

    import torch

    from fingereval.answer.inputs import video_pixels
    from fingereval.tiny.model import PROBE_SHAPE, build_tiny_model
    from fingereval.probes import make_probes
    from fingereval.train.checkpoint import load_for_training
    from fingereval.tiny.vision import pooled_videos
    from fingereval.video import VideoConfig, load_video

    vc = VideoConfig(fps=2.0, max_frames=8, size=112)
    with tempfile.TemporaryDirectory() as tmp:
        probes = make_probes(Path(tmp) / "probes", args.videos, seed=0, size=112, max_entities=1, radius=0.2)
        net, processor, device = load_for_training(build_tiny_model(Path(tmp) / "tiny", PROBE_SHAPE, seed=0), "cpu")
        videos = [video_pixels(processor, load_video(p, vc)) for p in sorted((probes.root / "videos").glob("*.mp4"))]
    tower = net.model.visual
    batches = [videos[i:i + args.batch] for i in range(0, len(videos), args.batch)]

    def step(per_video: bool) -> float:
        t0 = time.perf_counter()
        for batch in batches:
            pooled = (torch.cat([pooled_videos(tower, [v], device) for v in batch]) if per_video
                      else pooled_videos(tower, batch, device))
            pooled.pow(2).mean().backward()
        return time.perf_counter() - t0

    step(False), step(True)  # warm-up
    one_call = min(step(False) for _ in range(args.repeats))
    per_video = min(step(True) for _ in range(args.repeats))
    with torch.no_grad():
        same = torch.allclose(pooled_videos(tower, batches[0], device),
                              torch.cat([pooled_videos(tower, [v], device) for v in batches[0]]), rtol=1e-4, atol=1e-5)
    print(f"{len(videos)} videos, batches of {args.batch}: one call per video {per_video:.2f} s, one call per batch "
          f"{one_call:.2f} s -> {per_video / one_call:.2f}x faster; same pooled output: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
