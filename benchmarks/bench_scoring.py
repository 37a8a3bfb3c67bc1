"""Shared-prefix scoring vs the naive per-question loop, measured in the same run.

A random-weight Qwen2.5-VL shaped to give realistic token counts (448x448 at 2 fps for 4 s is about
1,000 video tokens; 20 questions of about 40-50 tokens). Prints the speed-up; `--json` prints one object.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_scoring.py            # CPU, about a minute
    .venv/bin/python benchmarks/bench_scoring.py --shape 7b --device cuda --dtype bfloat16 --in-memory  # on a GPU
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # single forwards swing wildly with the default on 2 cores

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

SHAPES = {
    # text hidden 512 x 4 layers: the CPU shape of docs/speed.md
    "cpu": dict(hidden=512, layers=4, heads=8, kv_heads=4, intermediate=1024, vision_hidden=128, vision_depth=2, vision_heads=4),
    # Qwen2.5-VL-7B's language model and vision tower sizes (random weights; needs a GPU)
    "7b": dict(hidden=3584, layers=28, heads=28, kv_heads=4, intermediate=18944, vision_hidden=1280, vision_depth=32,
               vision_heads=16),
}


def write_clip(path: Path, seconds: float, size: int) -> Path:
    import av

    fps = 8
    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=fps)
        s.width = s.height = size
        s.pix_fmt = "yuv420p"
        rng = np.random.default_rng(0)
        for i in range(int(seconds * fps)):
            f = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def questions_for(prompt: str, n: int):
    from fingereval.ask import get_generator

    qs = get_generator("templates").generate(prompt).questions
    return [qs[i % len(qs)].model_copy(update={"id": f"q{i}"}) for i in range(n)]


def timed(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--size", type=int, default=448)
    ap.add_argument("--shape", choices=sorted(SHAPES), default="cpu")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--reason", action="store_true", help="also time reason mode (greedy think, then the slot)")
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--in-memory", action="store_true",
                    help="build the random model on --device and skip the checkpoint on disk (for the 7b shape)")
    args = ap.parse_args(argv)

    import torch

    from fingereval.tiny.model import TinyShape, build_tiny_in_memory, build_tiny_model
    from fingereval.answer.transformers_backend import TransformersAnswerer
    from fingereval.video import VideoConfig, load_video

    torch.manual_seed(0)
    tmp = Path(tempfile.mkdtemp(prefix="fingereval-bench-"))
    shape = TinyShape(**SHAPES[args.shape])
    vc = VideoConfig(fps=2.0, max_frames=64, size=args.size)
    clip = load_video(write_clip(tmp / "clip.mp4", args.seconds, args.size), vc)
    qs = questions_for("Two men shake hands in a modern office while a dog runs past the window", args.questions)
    opts = dict(video_config=vc, suffix_batch=args.questions, max_new_tokens=args.max_new_tokens)
    if args.in_memory:
        dtype = getattr(torch, args.dtype)
        model, processor = build_tiny_in_memory(shape, device=args.device, dtype=dtype)
        ans = TransformersAnswerer.from_loaded(model, processor, **opts)
    else:  # through the same loading path as a real checkpoint
        model_dir = build_tiny_model(tmp / "model", shape)
        ans = TransformersAnswerer(model_dir, device=args.device, dtype=args.dtype, **opts)
    video_tokens = ans.video_inputs(clip).n_video_tokens

    def run(shared: bool, reason: bool):
        ans.shared_prefix = shared
        return ans.answer(clip, qs, reason=reason)

    report = {"questions": len(qs), "video_tokens": video_tokens, "frames": clip.num_frames, "shape": args.shape,
              "device": args.device, "dtype": args.dtype, "torch_threads": torch.get_num_threads(),
              "gpu": torch.cuda.get_device_name() if args.device.startswith("cuda") else None}
    modes = [False, True] if args.reason else [False]
    for reason in modes:
        run(True, reason), run(False, reason)  # warm-up both paths
        naive_s = timed(lambda: run(False, reason), args.repeats)
        shared_s = timed(lambda: run(True, reason), args.repeats)
        a, b = run(True, reason), run(False, reason)
        key = "reason_" if reason else ""
        report.update({f"{key}naive_s": round(naive_s, 4), f"{key}shared_s": round(shared_s, 4),
                       f"{key}speedup": round(naive_s / shared_s, 2),
                       f"{key}videos_per_hour_naive": round(3600 / naive_s, 1),
                       f"{key}videos_per_hour_shared": round(3600 / shared_s, 1),
                       f"{key}max_p_yes_diff": float(max(abs(x.p_yes - y.p_yes) for x, y in zip(a, b)))})
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{report['questions']} questions, {video_tokens} video tokens ({args.shape} shape, {args.device}, {args.dtype})")
        for key in ([""] + (["reason_"] if args.reason else [])):
            mode = "reason" if key else "direct"
            print(f"{mode}: naive {report[key + 'naive_s']:.3f} s/video, shared prefix {report[key + 'shared_s']:.3f} s/video, "
                  f"speedup {report[key + 'speedup']:.2f}x (max p_yes diff {report[key + 'max_p_yes_diff']:.1e})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
