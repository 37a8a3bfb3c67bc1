"""Decoding ahead vs decoding in line, through the batch path, in the same run.

Writes real-size clips (1280x720, 6-10 s at 24 fps, half H.264 and half VP9, with PyAV's libx264 and
libvpx-vp9), measures the mean time `fingereval.video.load_video` takes on them, and scores them through
`fingereval.batch.run_manifest` with `SleepAnswerer`: an answerer that sleeps that long per video and uses no
CPU, as a GPU leaves the CPU free. It is loaded by its "package.module:Class" string, as
`fingereval score --answerer benchmarks.bench_pipeline:SleepAnswerer -O seconds=0.8` would load it (run from the
repository root). Then the same with the tiny model on the CPU, where the model and the decoder share the cores.

    .venv/bin/python benchmarks/bench_pipeline.py                 # a few minutes on 2 cores
    .venv/bin/python benchmarks/bench_pipeline.py --no-tiny --json
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # as the CPU benchmarks: one torch thread, the other core free

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # so that "benchmarks.bench_pipeline:SleepAnswerer" imports from a script run
    sys.path.insert(0, str(ROOT))

from fingereval.answer.base import Answerer  # noqa: E402
from fingereval.schema import Question, RawAnswer  # noqa: E402
from fingereval.video import VideoClip, VideoConfig  # noqa: E402

SLEEP_ANSWERER = "benchmarks.bench_pipeline:SleepAnswerer"
QUESTIONS = [{"id": f"q{i}", "dimension": d, "text": t, "good_answer": "yes"} for i, (d, t) in enumerate([
    ("text_alignment", "Is there a red square?"), ("visual_quality", "Is the picture sharp?"),
    ("temporal_consistency", "Does the background move smoothly?"), ("dynamic_degree", "Does the square move?"),
    ("factual_consistency", "Is the scene plausible?")])]


class SleepAnswerer(Answerer):
    """Takes `seconds` per video and no CPU, as a model on a GPU does; p_yes from the clip's first pixels (so
    that two runs can be compared), read without a pass over the frames."""

    name = "sleep"

    def __init__(self, model: str = "sleep", video_config: VideoConfig = VideoConfig(), seconds: float = 1.0):
        self.model_id, self.video_config, self.seconds = f"sleep-{seconds:g}s", video_config, float(seconds)

    def answer(self, clip: VideoClip, questions: Sequence[Question], reason: bool = False) -> list[RawAnswer]:
        time.sleep(self.seconds)
        pixels = clip.frames[:, 0, 0, 0].astype(float)
        return [RawAnswer(q.id, float((pixels[i % len(pixels)] + 1) / 257)) for i, q in enumerate(questions)]


def write_clip(path: Path, codec: str, seconds: float, width: int = 1280, height: int = 720, fps: int = 24,
               seed: int = 0) -> Path:
    """A textured background panning under a moving square and a patch of noise (a camera clip's bitrate)."""
    import av

    yy, xx = np.mgrid[0:height, 0:width * 2]
    texture = ((np.sin(xx / (19.0 + seed)) + np.cos(yy / 17.0)) * 60 + 128).astype(np.uint8)
    rng = np.random.default_rng(seed)
    options = {"preset": "veryfast"} if codec == "libx264" else {"deadline": "realtime", "cpu-used": "8"}
    tmp = path.with_suffix(".part" + path.suffix)
    with av.open(str(tmp), "w", format="mp4" if path.suffix == ".mp4" else "webm") as c:
        s = c.add_stream(codec, rate=fps, options=options)
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        s.bit_rate = 4_000_000
        for i in range(int(seconds * fps)):
            x0 = (i * 7) % width
            f = np.repeat(texture[:, x0:x0 + width, None], 3, axis=2)
            f[200:328, (i * 11) % (width - 128):][:, :128] = (220, 40, 40)
            f[400:496, 600:696] = rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    tmp.rename(path)
    return path


def make_clips(folder: Path, n: int) -> list[Path]:
    """n clips (kept in `folder` for the next run): even ones H.264 in mp4, odd ones VP9 in webm, 6-10 s."""
    import av

    missing = {"libx264", "libvpx-vp9"} - set(av.codecs_available)
    if missing:
        raise SystemExit(f"this PyAV has no {', '.join(sorted(missing))} encoder; install PyAV's wheel (it ships both)")
    folder.mkdir(parents=True, exist_ok=True)
    clips = []
    for i in range(n):
        codec, suffix = ("libx264", ".mp4") if i % 2 == 0 else ("libvpx-vp9", ".webm")
        path = folder / f"clip{i:02d}{suffix}"
        if not path.exists():
            write_clip(path, codec, seconds=6 + (i % 5), seed=i)
        clips.append(path)
    return clips


def decode_seconds(clips: list[Path], config: VideoConfig) -> float:
    """Mean seconds load_video takes per clip (after one warm-up decode)."""
    from fingereval.video import load_video

    load_video(clips[0], config)
    times = []
    for clip in clips:
        t = time.perf_counter()
        load_video(clip, config)
        times.append(time.perf_counter() - t)
    return statistics.mean(times)


def write_manifest(folder: Path, clips: list[Path]) -> Path:
    manifest = folder / "manifest.jsonl"
    manifest.write_text("".join(json.dumps({"id": p.stem, "video": str(p), "prompt": "A red square slides right",
                                            "questions": QUESTIONS}) + "\n" for p in clips))
    return manifest


def run_batch(evaluator, manifest: Path, out: Path, processes: bool = False, **options) -> dict:
    """One batch through run_manifest: its seconds, the decode-ahead report line, and every p_yes. `processes`:
    decode in processes instead of threads (the comparison behind the default; run_manifest offers threads)."""
    import functools

    from fingereval import batch, decode_ahead

    out.unlink(missing_ok=True)
    events: list[str] = []
    batch.decode_ahead_for = functools.partial(decode_ahead.decode_ahead_for, processes=processes)
    t = time.perf_counter()
    try:
        summary = batch.run_manifest(evaluator, manifest, out, progress=False, on_event=events.append, **options)
    finally:
        batch.decode_ahead_for = decode_ahead.decode_ahead_for
    seconds = time.perf_counter() - t
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert summary.ok and summary.done == len(records), (summary, events)
    return {"seconds": seconds, "memory": next((e for e in events if e.startswith("decoded ahead")), None),
            "p_yes": [q["p_yes"] for r in records for q in r["questions"]]}


def compare(evaluator, manifest: Path, tmp: Path, modes: dict[str, dict], repeats: int) -> dict:
    """Each mode run `repeats` times, the modes in turn (so that the machine's load falls on all alike); the
    fastest run of each, its throughput against decoding in line, and whether all gave the same p_yes."""
    best: dict[str, dict] = {}
    for r in range(repeats):
        for name, options in modes.items():
            run = run_batch(evaluator, manifest, tmp / f"{name}.jsonl", **options)
            if name not in best or run["seconds"] < best[name]["seconds"]:
                best[name] = run
    base = best["in line"]
    n = len(base["p_yes"]) // len(QUESTIONS)
    return {name: {"seconds": round(run["seconds"], 2), "videos_per_hour": round(3600 * n / run["seconds"]),
                   "speedup": round(base["seconds"] / run["seconds"], 2), "memory": run["memory"],
                   "p_yes_equal": run["p_yes"] == base["p_yes"]} for name, run in best.items()}


MODES = {
    "in line": dict(decode_ahead=0),
    "ahead, 1 thread, depth 2": dict(decode_ahead=2, decode_workers=1),
    "ahead, 2 threads, depth 2": dict(decode_ahead=2, decode_workers=2),
    "ahead, 1 process, depth 2": dict(decode_ahead=2, decode_workers=1, processes=True),
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=12)
    ap.add_argument("--clips-dir", type=Path, default=Path(tempfile.gettempdir()) / "fingereval-bench-pipeline",
                    help="where the clips are written (and reused by the next run)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--sleep", type=float, default=None, help="seconds the answerer takes (default: the mean decode)")
    ap.add_argument("--no-tiny", action="store_true", help="skip the tiny model on the CPU")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    from fingereval.evaluator import Evaluator

    clips = make_clips(args.clips_dir, args.clips)
    config = VideoConfig()  # the paper's sampling: 2 fps, at most 32 frames, 448 x 448
    decode_s = decode_seconds(clips, config)
    sleep_s = args.sleep if args.sleep is not None else decode_s
    tmp = Path(tempfile.mkdtemp(prefix="fingereval-pipeline-"))
    manifest = write_manifest(tmp, clips)
    report = {"clips": len(clips), "cpus": os.cpu_count(), "load_average_before": os.getloadavg(),
              "decode_seconds_mean": round(decode_s, 3), "answerer_seconds": round(sleep_s, 3)}
    sleeper = Evaluator(answerer=SLEEP_ANSWERER, seconds=sleep_s, video_config=config)
    report["sleep"] = compare(sleeper, manifest, tmp, MODES, args.repeats)
    if not args.no_tiny:
        from fingereval.tiny.model import TinyShape, build_tiny_model

        model = build_tiny_model(tmp / "tiny", TinyShape(), seed=0)
        tiny = Evaluator(model, video_config=config, device="cpu", dtype="float32")
        report["tiny"] = compare(tiny, manifest, tmp, {k: MODES[k] for k in list(MODES)[:2]}, 1)
    report["load_average_after"] = os.getloadavg()
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{len(clips)} clips 1280x720 (H.264 and VP9), decode {decode_s:.3f} s/clip on {os.cpu_count()} CPUs; "
          f"load average {report['load_average_before'][0]:.2f} before, {report['load_average_after'][0]:.2f} after")
    for answerer in ("sleep", "tiny"):
        for name, row in report.get(answerer, {}).items():
            what = f"sleep {sleep_s:.3f} s" if answerer == "sleep" else "tiny model, CPU"
            print(f"{what:>18} | {name:26} | {row['seconds']:7.2f} s | {row['videos_per_hour']:6d} videos/h | "
                  f"{row['speedup']:.2f}x | p_yes equal: {row['p_yes_equal']}")
            if row["memory"]:
                print(f"{'':>18} | {row['memory']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
