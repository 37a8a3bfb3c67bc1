"""Reason mode's decoding cache: each row's prefix copied once into a preallocated buffer vs grown by torch.cat.

transformers' DynamicLayer grows by concatenation, so batched greedy decoding off an expanded prefix
copies every row's whole cache at every step. Each variant runs in its own process: peak resident memory
of the batched greedy decoding after the shared prefill (VmHWM, reset just before it) and its time, on one
random-weight model and clip.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_reason_cache.py      # CPU, about two minutes
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def peak_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def one_case(variant: str, args) -> dict:
    sys.path.insert(0, str(HERE))
    import torch

    import fingereval.answer.engine as engine
    import fingereval.answer.transformers_backend as backend
    from bench_scoring import SHAPES, questions_for, write_clip
    from fingereval.answer.format import ANSWER_OPEN, user_text
    from fingereval.answer.prefix_cache import shared_view
    from fingereval.tiny.model import TinyShape, build_tiny_in_memory
    from fingereval.video import VideoConfig, load_video

    if variant == "grown":  # what the loop did before: an expanded view that every update concatenates
        engine.preallocated = lambda cache, rows, capacity: shared_view(cache, rows)
    torch.manual_seed(0)
    vc = VideoConfig(fps=2.0, max_frames=64, size=args.size)
    clip = load_video(write_clip(Path(tempfile.mkdtemp()) / "clip.mp4", args.seconds, args.size), vc)
    model, processor = build_tiny_in_memory(TinyShape(**SHAPES["cpu"]))
    ans = backend.TransformersAnswerer.from_loaded(model, processor, video_config=vc, suffix_batch=args.questions,
                                                   max_new_tokens=args.max_new_tokens)
    qs = questions_for("Two men shake hands in a modern office while a dog runs past the window", args.questions)
    ans.answer(clip, qs[:2], reason=True)  # warm-up
    video = ans.video_inputs(clip)
    rows = ans.prompt_rows(video, [user_text(q.text) for q in qs], [""] * len(qs))
    ans.prefix_for(video, rows)  # the prefill (vision tower and prefix) is the same for both: keep it out
    Path("/proc/self/clear_refs").write_text("5")  # reset the peak to the current resident size
    base = peak_kb()
    t = time.perf_counter()
    generated = ans.generate(video, rows, ans.stop_rule(ANSWER_OPEN))
    seconds = time.perf_counter() - t
    out = ans._p_yes(video, [r + ans._slot_ids(g)[0] for r, g in zip(rows, generated)])
    return {"variant": variant, "seconds": round(seconds, 3), "peak_extra_mb": round((peak_kb() - base) / 1024, 1),
            "video_tokens": video.n_video_tokens, "p_yes": out}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--questions", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--size", type=int, default=448)
    ap.add_argument("--max-new-tokens", type=int, default=24)
    ap.add_argument("--case", choices=["preallocated", "grown"], help=argparse.SUPPRESS)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if args.case:
        print(json.dumps(one_case(args.case, args)))
        return 0
    rows = []
    for variant in ("grown", "preallocated"):
        cmd = [sys.executable, __file__, "--case", variant, "--questions", str(args.questions), "--seconds",
               str(args.seconds), "--size", str(args.size), "--max-new-tokens", str(args.max_new_tokens)]
        rows.append(json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.splitlines()[-1]))
    grown, pre = rows
    same = max(abs(a - b) for a, b in zip(grown["p_yes"], pre["p_yes"]))
    report = {"questions": args.questions, "video_tokens": pre["video_tokens"], "max_new_tokens": args.max_new_tokens,
              "grown": {k: grown[k] for k in ("seconds", "peak_extra_mb")},
              "preallocated": {k: pre[k] for k in ("seconds", "peak_extra_mb")},
              "peak_ratio": round(grown["peak_extra_mb"] / max(pre["peak_extra_mb"], 0.1), 2),
              "speedup": round(grown["seconds"] / pre["seconds"], 2), "max_p_yes_diff": same}
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{args.questions} questions, {pre['video_tokens']} video tokens, {args.max_new_tokens} new tokens (cpu shape)")
        for name in ("grown", "preallocated"):
            print(f"{name:>12}: {report[name]['seconds']:.2f} s, peak +{report[name]['peak_extra_mb']:.0f} MB")
        print(f"peak memory {report['peak_ratio']:.2f}x lower, {report['speedup']:.2f}x faster, max p_yes diff {same:.1e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
