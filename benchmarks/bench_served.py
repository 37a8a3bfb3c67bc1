"""Videos per hour through the 'openai' answerer at concurrency 1, 8 and 32, against the local test server.

The server (tests/openai_server.py) answers every chat request with fixed log-probs after a fixed latency
(50 ms by default) and runs no model, so what is measured is the answerer's request pipeline: two one-token
requests per question in direct mode, the first request of a video alone (prime_prefix, so a real server caches
the video before the rest arrive), the rest `concurrency` at a time. The same videos and questions in every row,
in one run; the ratios are against concurrency 1. A real engine's latency grows with load, so these are upper
bounds of the pipeline, not of a GPU.

    .venv/bin/python benchmarks/bench_served.py                  # about half a minute
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
        def run(concurrency: int, prime: bool = True, parallel_videos: int = 1) -> dict:
            ev = Evaluator(answerer="openai", model="served", base_url=server.url, video_config=vc,
                           concurrency=concurrency, prime_prefix=prime)
            ev.score(videos[0], questions=qs)  # warm: connections open, imports done
            server.reset()
            t = time.perf_counter()
            with ThreadPoolExecutor(parallel_videos) as callers:  # 1: videos one after another, as a batch does
                results = list(callers.map(lambda v: ev.score(v, questions=qs), videos))
            seconds = time.perf_counter() - t
            assert all(abs(q.p_yes - FIXED_P_YES) < 1e-9 for r in results for q in r.questions)
            ev.answerer.close()
            return {"concurrency": concurrency, "prime_prefix": prime, "videos_at_once": parallel_videos,
                    "seconds": round(seconds, 3), "videos_per_hour": round(len(videos) / seconds * 3600),
                    "requests": len(server.bodies), "max_in_flight": server.max_in_flight}

        for c in args.concurrency:
            rows.append(run(c))
        top = max(args.concurrency)
        rows.append(run(top, prime=False))
        rows.append(run(top, parallel_videos=4))

    base = rows[0]["videos_per_hour"]
    for r in rows:
        r["ratio"] = round(r["videos_per_hour"] / base, 2)
    if args.json:
        print(json.dumps({"latency_s": args.latency, "videos": args.videos, "questions": args.questions, "rows": rows}))
        return 0
    print(f"{args.videos} videos x {args.questions} questions, direct mode (2 requests per question), "
          f"server latency {args.latency * 1000:.0f} ms per request, no model")
    print(f"{'concurrency':>11} {'prime':>5} {'videos at once':>14} {'requests':>8} {'max in flight':>13} "
          f"{'seconds':>8} {'videos/hour':>11} {'ratio':>6}")
    for r in rows:
        print(f"{r['concurrency']:>11} {str(r['prime_prefix']):>5} {r['videos_at_once']:>14} {r['requests']:>8} "
              f"{r['max_in_flight']:>13} {r['seconds']:>8.2f} {r['videos_per_hour']:>11,} {r['ratio']:>5.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
