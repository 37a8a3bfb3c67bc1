"""Video decoding: convert every frame then sample (the old way) vs convert only the sampled frames.

Writes a long and a short 1280x720 30 fps clip (H.264, or mpeg4 where libx264 is missing), then runs
each (algorithm, clip) case in its own subprocess: peak memory is that process's ru_maxrss, since
tracemalloc does not see PyAV's buffers. The old algorithm is reimplemented here as the baseline; the
new one is fingereval.video.load_video. Both sample 32 frames at 448x448 and must give equal frames.

    .venv/bin/python benchmarks/bench_video_decode.py            # under a minute on 2 cores
    .venv/bin/python benchmarks/bench_video_decode.py --json
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def write_clip(path: Path, seconds: float, width: int = 1280, height: int = 720, fps: int = 30) -> Path:
    """A textured background panning under a moving square and a patch of noise: real motion for the encoder
    and a bitrate of a few Mbit/s, like a camera clip's; cheap to draw."""
    import av

    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    yy, xx = np.mgrid[0:height, 0: width * 2]
    texture = ((np.sin(xx / 23.0) + np.cos(yy / 17.0)) * 60 + 128).astype(np.uint8)
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=fps, options={"preset": "ultrafast"} if codec == "libx264" else {})
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        for i in range(int(seconds * fps)):
            x0 = (i * 7) % width
            f = np.repeat(texture[:, x0:x0 + width, None], 3, axis=2)
            f[200:328, (i * 11) % (width - 128):][:, :128] = (220, 40, 40)
            f[400:496, 600:696] = rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)
            for p in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def old_load(path: Path, fps: float, max_frames: int, size: int) -> np.ndarray:
    """The pre-change algorithm: every decoded frame converted to size x size RGB and kept, then sampled."""
    import av

    frames, times = [], []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            times.append(float(frame.pts * stream.time_base))
            frames.append(frame.to_ndarray(format="rgb24", width=size, height=size))
    times = [t - times[0] for t in times]
    duration = times[-1] + times[-1] / (len(times) - 1)
    n = min(max(2, int(round(duration * fps))), max_frames)
    idx = np.clip(np.searchsorted(np.asarray(times), (np.arange(n) + 0.5) * (duration / n), side="right") - 1, 0,
                  len(frames) - 1)
    picked = np.stack([frames[i] for i in idx])
    return np.concatenate([picked, picked[-1:]]) if len(picked) % 2 else picked


def run_case(algo: str, path: str, repeats: int) -> dict:
    """In a fresh process: best-of-`repeats` time and the process's peak resident memory."""
    from fingereval.video import VideoConfig, load_video

    cfg = VideoConfig(fps=2.0, max_frames=32, size=448)
    import av  # noqa: F401  (imported before the first timing, in both cases)

    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = old_load(Path(path), cfg.fps, cfg.max_frames, cfg.size) if algo == "old" else load_video(path, cfg).frames
        best = min(best, time.perf_counter() - t)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    return {"seconds": best, "peak_mb": peak_mb, "frames": int(out.shape[0]), "checksum": int(out.sum(dtype=np.int64))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--long", type=float, default=60.0, help="seconds of the long clip")
    ap.add_argument("--short", type=float, default=2.0, help="seconds of the short clip")
    ap.add_argument("--repeats", type=int, default=2, help="timed runs per case (best kept)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--case", nargs=2, metavar=("ALGO", "PATH"), help=argparse.SUPPRESS)  # the subprocess side
    args = ap.parse_args(argv)
    if args.case:
        print(json.dumps(run_case(args.case[0], args.case[1], args.repeats)))
        return 0

    tmp = Path(tempfile.mkdtemp(prefix="fingereval-bench-video-"))
    t = time.perf_counter()
    clips = {"short": write_clip(tmp / "short.mp4", args.short), "long": write_clip(tmp / "long.mp4", args.long)}
    write_s = time.perf_counter() - t
    res = {}
    for clip, path in clips.items():
        for algo in ("old", "new"):
            done = subprocess.run([sys.executable, __file__, "--repeats", str(args.repeats), "--case", algo, str(path)],
                                  capture_output=True, text=True, check=True)
            res[f"{algo}_{clip}"] = json.loads(done.stdout.strip().splitlines()[-1])
    for clip in clips:
        if res[f"old_{clip}"]["checksum"] != res[f"new_{clip}"]["checksum"]:
            print(f"the {clip} clip's frames differ between the algorithms", file=sys.stderr)
            return 1
    report = {"long_s": args.long, "short_s": args.short, "clip_write_s": round(write_s, 1),
              "file_mb": {k: round(p.stat().st_size / 2**20, 1) for k, p in clips.items()}, **res}
    for algo in ("old", "new"):
        report[f"{algo}_time_long_over_short"] = res[f"{algo}_long"]["seconds"] / res[f"{algo}_short"]["seconds"]
        report[f"{algo}_extra_peak_mb_long"] = res[f"{algo}_long"]["peak_mb"] - res[f"{algo}_short"]["peak_mb"]
    report["speedup_long"] = res["old_long"]["seconds"] / res["new_long"]["seconds"]
    report["peak_ratio_long"] = res["old_long"]["peak_mb"] / res["new_long"]["peak_mb"]
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"1280x720 30 fps clips ({report['file_mb']['short']} / {report['file_mb']['long']} MB), 32 frames "
          f"sampled at 448x448, best of {args.repeats}, one process per case")
    print(f"{'case':<14}{'time s':>9}{'peak RSS MB':>13}")
    for clip, secs in (("short", args.short), ("long", args.long)):
        for algo in ("old", "new"):
            r = res[f"{algo}_{clip}"]
            print(f"{algo + ' ' + format(secs, 'g') + ' s':<14}{r['seconds']:>9.2f}{r['peak_mb']:>13.0f}")
    for algo in ("old", "new"):
        print(f"{algo}: {args.long:g} s clip takes {report[f'{algo}_time_long_over_short']:.2f}x the time of the "
              f"{args.short:g} s clip, {report[f'{algo}_extra_peak_mb_long']:+.0f} MB peak")
    print(f"{args.long:g} s clip, new vs old: {report['speedup_long']:.2f}x faster, "
          f"{report['peak_ratio_long']:.2f}x less peak memory")
    return 0


if __name__ == "__main__":
    sys.exit(main())
