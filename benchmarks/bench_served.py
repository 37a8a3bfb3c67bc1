"""Videos per hour through the 'openai' answerer at concurrency 1, 8 and 32, and the bytes and media items each
video costs on the wire, against the local test server.

The server (tests/openai_server.py) answers every chat request with fixed log-probs after a fixed latency
(50 ms by default) and runs no model, so what is measured is the answerer's request pipeline: two one-token
requests per question in direct mode, the first request of a video alone (prime_prefix, so a real server caches
the video before the rest arrive), the rest `concurrency` at a time. The same videos and questions in every row,
in one run; the ratios are against concurrency 1. A real engine's latency grows with load, so these are upper
bounds of the pipeline, not of a GPU.

Wire: `--wire-videos` H.264 clips of a real clip's bytes per second (640x360, a noisy background that does not
compress away, `--wire-frames` at 16 fps), `--wire-questions` questions each, scored with the media in every
request (`media_uuids=False`: what the answerer sent before it sent each video once) and with it sent once, to a
server that keeps media by uuid (as vLLM >= 0.10.2) and to one that refuses uuid-only parts (as SGLang
and older vLLM); per video: requests, bytes the server received, media items it decoded, and the ratios to the
first row, all in one run.

    .venv/bin/python benchmarks/bench_served.py                  # a minute or two
    .venv/bin/python benchmarks/bench_served.py --latency 0.2 --questions 10 --json
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=6)
    ap.add_argument("--questions", type=int, default=20)
    ap.add_argument("--latency", type=float, default=0.05, help="seconds the server takes per request")
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--wire-videos", type=int, default=3)
    ap.add_argument("--wire-questions", type=int, default=25)
    ap.add_argument("--wire-frames", type=int, default=48, help="the wire clips' frames, at 16 fps")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    sys.path.insert(0, str(TESTS))
    from conftest import write_video
    from openai_server import FIXED_P_YES, ChatServer, FixedReply

    from fingereval.evaluator import Evaluator
    from fingereval.schema import Question, QuestionSet
    from fingereval.video import VideoConfig

    vc = VideoConfig(size=112)
    tmp = Path(tempfile.mkdtemp(prefix="fingereval-served-"))
    videos = [write_video(tmp / f"v{i}.mp4", colour=(200, 30 * i % 255, 30)) for i in range(args.videos)]
    qs = QuestionSet(prompt="a red square slides right", questions=[
        Question(id=f"q{i}", dimension="text_alignment", text=f"Is detail number {i} of the square right?",
                 good_answer="yes") for i in range(args.questions)])

    rows = []
    with ChatServer(FixedReply(latency=args.latency)) as server:
        def run(concurrency: int, prime: bool = True, parallel_videos: int = 1, once: bool = True) -> dict:
            ev = Evaluator(answerer="openai", model="served", base_url=server.url, video_config=vc,
                           concurrency=concurrency, prime_prefix=prime, media_uuids=once)
            ev.score(videos[0], questions=qs)  # warm: connections open, imports done
            server.reset()
            t = time.perf_counter()
            with ThreadPoolExecutor(parallel_videos) as callers:  # 1: videos one after another, as a batch does
                results = list(callers.map(lambda v: ev.score(v, questions=qs), videos))
            seconds = time.perf_counter() - t
            assert all(abs(q.p_yes - FIXED_P_YES) < 1e-9 for r in results for q in r.questions)
            ev.answerer.close()
            return {"concurrency": concurrency, "prime_prefix": prime, "videos_at_once": parallel_videos,
                    "video_once": once, "seconds": round(seconds, 3),
                    "videos_per_hour": round(len(videos) / seconds * 3600),
                    "requests": len(server.bodies), "max_in_flight": server.max_in_flight}

        for c in args.concurrency:
            rows.append(run(c))
        top = max(args.concurrency)
        rows.append(run(top, once=False))
        rows.append(run(top, prime=False))
        rows.append(run(top, parallel_videos=4))
    wire = wire_rows(args, tmp, vc, top)

    base = rows[0]["videos_per_hour"]
    for r in rows:
        r["ratio"] = round(r["videos_per_hour"] / base, 2)
    if args.json:
        print(json.dumps({"latency_s": args.latency, "videos": args.videos, "questions": args.questions, "rows": rows,
                          "wire": wire}))
        return 0
    print(f"{args.videos} videos x {args.questions} questions, direct mode (2 requests per question), "
          f"server latency {args.latency * 1000:.0f} ms per request, no model")
    print(f"{'concurrency':>11} {'prime':>5} {'videos at once':>14} {'video once':>10} {'requests':>8} "
          f"{'max in flight':>13} {'seconds':>8} {'videos/hour':>11} {'ratio':>6}")
    for r in rows:
        print(f"{r['concurrency']:>11} {str(r['prime_prefix']):>5} {r['videos_at_once']:>14} "
              f"{str(r['video_once']):>10} {r['requests']:>8} {r['max_in_flight']:>13} {r['seconds']:>8.2f} {r['videos_per_hour']:>11,} "
              f"{r['ratio']:>5.2f}x")
    w = wire[0]
    print(f"\nwire: {args.wire_videos} H.264 clips of {w['video_bytes'] / 1e3:,.0f} kB on average "
          f"(640x360, {args.wire_frames} frames), {args.wire_questions} questions each, concurrency {top}; per video, "
          "what the server received:")
    print(f"{'sending':<61} {'requests':>8} {'kB received':>11} {'x video':>7} {'decoded':>7} "
          f"{'bytes ratio':>11} {'decode ratio':>12}")
    for r in wire:
        print(f"{r['mode']:<61} {r['requests']:>8.1f} {r['bytes'] / 1e3:>11,.1f} {r['bytes'] / r['video_bytes']:>7.1f} "
              f"{r['decoded']:>7.1f} {r['bytes_ratio']:>10.3f}x {r['decoded_ratio']:>11.3f}x")
    return 0


def wire_rows(args, tmp: Path, vc, concurrency: int) -> list[dict]:
    """Per video: requests, bytes received and media items decoded by the server, before and after."""
    from openai_server import FIXED_P_YES, ChatServer, FixedReply

    from fingereval.evaluator import Evaluator
    from fingereval.schema import Question, QuestionSet

    n = args.wire_videos
    videos = [noisy_clip(tmp / f"wire{i}.mp4", args.wire_frames, seed=i) for i in range(n)]
    qs = QuestionSet(prompt="a red square slides right", questions=[
        Question(id=f"q{i}", dimension="text_alignment", text=f"Is detail number {i} of the square right?",
                 good_answer="yes") for i in range(args.wire_questions)])
    video_bytes = sum(len(v.read_bytes()) for v in videos) / n
    modes = [("media in every request (before; media_uuids=False)", "honour", False),
             ("once, server keeps media by uuid (vLLM >= 0.10.2)", "honour", True),
             ("once, server refuses uuid-only parts (SGLang, vLLM < 0.10.2)", "refuse", True)]
    out = []
    for mode, server_uuids, once in modes:
        with ChatServer(FixedReply(latency=args.latency), uuids=server_uuids) as server:
            ev = Evaluator(answerer="openai", model="served", base_url=server.url, video_config=vc,
                           concurrency=concurrency, media_uuids=once)
            results = [ev.score(v, questions=qs) for v in videos]  # no warm-up: the detection is part of the cost
            assert all(abs(q.p_yes - FIXED_P_YES) < 1e-9 for r in results for q in r.questions)
            out.append({"mode": mode, "requests": len(server.bodies) / n, "bytes": server.bytes_received / n,
                        "decoded": server.media_decoded / n, "video_bytes": video_bytes,
                        "uuid_refused": server.uuid_refused, "cache_misses": server.cache_misses})
            ev.answerer.close()
    for r in out:
        r["bytes_ratio"] = round(r["bytes"] / out[0]["bytes"], 4)
        r["decoded_ratio"] = round(r["decoded"] / out[0]["decoded"], 4)
    return out


def noisy_clip(path: Path, frames: int, seed: int, width: int = 640, height: int = 360, fps: int = 16) -> Path:
    """A red square sliding over a gradient with fresh noise in every frame: H.264 cannot shrink it to a few kB as
    it does tests/conftest.py's flat clips, so its bytes per second are those of a real clip."""
    import av
    import numpy as np

    rng = np.random.default_rng(seed)
    base = np.broadcast_to(np.linspace(40, 200, width)[None, :, None], (height, width, 3)).astype(np.int16)
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=fps)
        s.width, s.height, s.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            f = base + rng.integers(-16, 17, (height, width, 3))
            x = i * (width - 80) // max(frames - 1, 1)
            f[height // 2 - 40: height // 2 + 40, x: x + 80] = (220, 30, 30)
            for packet in s.encode(av.VideoFrame.from_ndarray(np.clip(f, 0, 255).astype(np.uint8), format="rgb24")):
                c.mux(packet)
        for packet in s.encode():
            c.mux(packet)
    return path


if __name__ == "__main__":
    raise SystemExit(main())
