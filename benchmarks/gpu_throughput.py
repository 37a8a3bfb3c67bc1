"""Videos per hour on one GPU for the 7B shape: from memory and from files (decoding included), direct and with
reasons, and how busy the GPU was meanwhile. One command, under 8 minutes on one H100 with the defaults:

    .venv/bin/python benchmarks/gpu_throughput.py                           # 7B shape, cuda, bfloat16
    .venv/bin/python benchmarks/gpu_throughput.py --shape cpu --device cpu  # the same path on a CPU (a check)

The model is Qwen2.5-VL-7B's shape with random weights, built on the device (benchmarks/bench_scoring.py's SHAPES,
fingereval.tiny.model.build_tiny_in_memory). The clips are real-size (1280x720, 6-10 s, H.264 and VP9, written
with PyAV; benchmarks/bench_pipeline.py). "From memory": clips decoded beforehand, the answerer alone (its
processor included). "From files": the manifest through fingereval.batch.run_manifest, in line (`--decode-ahead
0`) and decoding ahead (the default). Utilisation: nvidia-smi (or torch.cuda.utilization) sampled every 0.2 s
while each phase runs; its mean and the share of samples above 50 %.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the sibling benchmarks: bench_scoring's shapes, bench_pipeline's clips

from bench_pipeline import make_clips, write_clip  # noqa: E402
from bench_scoring import SHAPES, questions_for  # noqa: E402


class Utilisation:
    """GPU utilisation (%) sampled on a thread while a block runs; nothing on a CPU."""

    def __init__(self, device: str, every: float = 0.2):
        self.device, self.every, self.samples = device, every, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._index = int(device.partition(":")[2] or 0) if device.startswith("cuda") else None

    def _read(self) -> float | None:
        import torch

        try:
            return float(torch.cuda.utilization(self._index))  # needs pynvml
        except Exception:
            pass
        if shutil.which("nvidia-smi") is None:
            return None
        out = subprocess.run(["nvidia-smi", "-i", str(self._index), "--query-gpu=utilization.gpu",
                              "--format=csv,noheader,nounits"], capture_output=True, text=True, timeout=5)
        try:
            return float(out.stdout.strip().splitlines()[0])
        except (ValueError, IndexError):
            return None

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            value = self._read()
            if value is not None:
                self.samples.append(value)

    def __enter__(self):
        if self._index is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def summary(self) -> dict | None:
        if not self.samples:
            return None
        return {"mean_pct": round(sum(self.samples) / len(self.samples), 1), "samples": len(self.samples),
                "busy_share": round(sum(s > 50 for s in self.samples) / len(self.samples), 2)}


def make_clips_in_parallel(folder: Path, n: int) -> list[Path]:
    """bench_pipeline's clips, encoded on every core (the GPU machine has many; VP9 encoding is slow)."""
    folder.mkdir(parents=True, exist_ok=True)
    jobs = []
    with ProcessPoolExecutor(max(1, min(n, os.cpu_count() or 1))) as pool:
        for i in range(n):
            codec, suffix = ("libx264", ".mp4") if i % 2 == 0 else ("libvpx-vp9", ".webm")
            path = folder / f"clip{i:02d}{suffix}"
            if not path.exists():
                jobs.append(pool.submit(write_clip, path, codec, 6 + (i % 5), seed=i))
        for job in jobs:
            job.result()
    return make_clips(folder, n)  # every clip is there now: only their paths


def timed_phase(name: str, device: str, n: int, run) -> dict:
    import torch

    with Utilisation(device) as util:
        start = time.perf_counter()
        run()
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    row = {"phase": name, "videos": n, "seconds": round(seconds, 2), "videos_per_hour": round(3600 * n / seconds),
           "gpu_utilisation": util.summary()}
    print(f"{name:42} {row['videos_per_hour']:8d} videos/h  ({seconds:6.1f} s for {n})  GPU "
          + (f"{row['gpu_utilisation']['mean_pct']:5.1f} % mean, {row['gpu_utilisation']['busy_share']:.0%} of "
             f"samples > 50 %" if row["gpu_utilisation"] else "not sampled"), flush=True)
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", choices=sorted(SHAPES), default="7b")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--dtype", default=None, help="default: bfloat16 on cuda, float32 on cpu")
    ap.add_argument("--clips", type=int, default=16, help="real-size clips (the manifest)")
    ap.add_argument("--clips-dir", type=Path, default=Path(tempfile.gettempdir()) / "fingereval-bench-pipeline")
    ap.add_argument("--questions", type=int, default=20)
    ap.add_argument("--max-new-tokens", type=int, default=32, help="reason mode's budget")
    ap.add_argument("--size", type=int, default=448)
    ap.add_argument("--max-frames", type=int, default=32)
    ap.add_argument("--fps", type=float, default=2.0)
    ap.add_argument("--decode-workers", type=int, default=None,
                    help="threads decoding ahead (default: a quarter of the CPUs, 1 to 4: a 720p clip decodes in "
                    "0.5-1.3 s on one, the 7B model answers in about 0.25 s)")
    ap.add_argument("--decode-ahead", type=int, default=None, help="videos decoded ahead (default: 2 per thread)")
    ap.add_argument("--no-reason", action="store_true", help="direct mode only")
    ap.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = ap.parse_args(argv)

    import torch

    from fingereval.answer.transformers_backend import TransformersAnswerer
    from fingereval.batch import run_manifest
    from fingereval.evaluator import Evaluator
    from fingereval.tiny.model import TinyShape, build_tiny_in_memory
    from fingereval.video import VideoConfig, load_video

    started = time.perf_counter()
    dtype = getattr(torch, args.dtype or ("bfloat16" if args.device.startswith("cuda") else "float32"))
    card = torch.cuda.get_device_name(args.device) if args.device.startswith("cuda") else "CPU"
    print(f"{args.shape} shape on {card} ({dtype}), {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}",
          flush=True)
    clips = make_clips_in_parallel(args.clips_dir, args.clips)
    vc = VideoConfig(fps=args.fps, max_frames=args.max_frames, size=args.size)
    torch.manual_seed(0)
    model, processor = build_tiny_in_memory(TinyShape(**SHAPES[args.shape]), device=args.device, dtype=dtype)
    answerer = TransformersAnswerer.from_loaded(model, processor, video_config=vc, suffix_batch=args.questions,
                                                max_new_tokens=args.max_new_tokens)
    questions = questions_for("A red square slides right over a textured background", args.questions)
    tmp = Path(tempfile.mkdtemp(prefix="fingereval-gpu-"))
    manifest = tmp / "manifest.jsonl"
    manifest.write_text("".join(json.dumps({"id": p.stem, "video": str(p), "prompt": "A red square slides right",
                                            "questions": [q.model_dump(mode="json") for q in questions]}) + "\n"
                                for p in clips))
    print(f"setup {time.perf_counter() - started:.0f} s: {len(clips)} clips, model built", flush=True)

    workers = args.decode_workers or max(1, min(4, (os.cpu_count() or 1) // 4))
    depth = args.decode_ahead or 2 * workers
    decoded = [load_video(p, vc) for p in clips]
    answerer.answer(decoded[0], questions)  # warm-up: kernels, allocator
    with ThreadPoolExecutor(workers) as threads:  # and the processor copies prepare keeps (one per thread)
        list(threads.map(answerer.prepare, decoded[:workers]))
    rows = []
    modes = [False] if args.no_reason else [False, True]
    for reason in modes:
        mode = "reason" if reason else "direct"
        evaluator = Evaluator(answerer=answerer, reason=reason)
        rows.append(timed_phase(f"{mode}, from memory", args.device, len(decoded),
                                lambda: [answerer.answer(c, questions, reason=reason) for c in decoded]))
        for ahead in (0, depth):
            how = "in line" if ahead == 0 else f"{ahead} ahead on {workers} threads"
            out, events = tmp / f"{mode}-{ahead}.jsonl", []
            rows.append(timed_phase(f"{mode}, from files, {how}", args.device, len(clips), lambda: run_manifest(
                evaluator, manifest, out, progress=False, on_event=events.append, decode_ahead=ahead,
                decode_workers=workers)))
            rows[-1]["memory"] = next((e for e in events if e.startswith("decoded ahead")), None)
            if rows[-1]["memory"]:
                print(f"{'':42} {rows[-1]['memory']}", flush=True)
            records = [json.loads(line) for line in out.read_text().splitlines()]
            assert len(records) == len(clips) and not any("error" in r for r in records), records[:1]
    print(f"total {time.perf_counter() - started:.0f} s")
    if args.json:
        args.json.write_text(json.dumps({"card": card, "shape": args.shape, "dtype": str(dtype), "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
