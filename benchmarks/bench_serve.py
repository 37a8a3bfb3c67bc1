"""`fingereval serve` under load against the same videos scored one by one, measured in the same run.

The tiny Qwen2.5-VL (tests' checkpoint, random weights) behind `fingereval serve` on a loopback port; N client
threads (ScoreClient) each send their share of the requests, the videos as base64 bytes with the questions
generated from the prompt. Printed: requests per second, p50/p95 latency and the service process's resident
memory after the load (and its peak). The baselines, with the same videos, prompts and settings: `fingereval
score --json` run as a subprocess per video (what a pipeline without the service does: the model loads every
time), and the Evaluator in this process, model loaded once, one video after another. The ratios are the service's videos per second over each baseline's. Every score the service answered
is checked against the in-process Evaluator's (p_yes within 1e-4). Bounded: --requests in all, --max-seconds.
`--decode-ahead 0,2 --rounds 2` loads one service per depth, the depths taking turns (0 is the video decoded on
the model worker in line, as before decode ahead; docs/speed.md), and prints each depth's ratio against the first.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_serve.py                 # about two minutes on 2 cores
    .venv/bin/python benchmarks/bench_serve.py --clients 16 --requests 64 --json
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # single forwards swing wildly with the default on 2 cores

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
PROMPTS = ["a red square slides right", "a blue square rests on a grey floor", "a green box moves across the room",
           "a small yellow ball rolls to the left"]
COLOURS = [(220, 30, 30), (30, 30, 220), (30, 200, 30), (220, 220, 30)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def start_service(model: Path, port: int, common: list[str], token: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "fingereval.cli", "serve", "--model", str(model), "--port", str(port),
           "--log-level", "warning", *common]
    proc = subprocess.Popen(cmd, env={**os.environ, "FINGEREVAL_SERVE_TOKEN": token}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    import httpx

    end = time.monotonic() + 120
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"fingereval serve exited: {proc.stderr.read()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("fingereval serve did not start within 120 s")


def rss_mb(pid: int) -> dict:
    """The service process's resident memory now and its peak (VmRSS, VmHWM from /proc), in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = round(int(value.split()[0]) / 1024, 1)
    return {"rss_mb": fields.get("VmRSS"), "peak_rss_mb": fields.get("VmHWM")}


def load(url: str, token: str, work: list[tuple[Path, str]], clients: int, max_seconds: float) -> dict:
    """`clients` threads take the next request from `work` until it is gone or the time is up."""
    from fingereval.client import ScoreClient

    lock, latencies, results, errors = threading.Lock(), [], [], []
    todo = list(enumerate(work))
    stop_at = time.monotonic() + max_seconds

    def client_thread() -> None:
        with ScoreClient(url, token, retries=5) as client:
            while time.monotonic() < stop_at:
                with lock:
                    if not todo:
                        return
                    i, (video, prompt) = todo.pop(0)
                t = time.perf_counter()
                try:
                    result = client.score(video.read_bytes(), prompt, id=str(i))
                except Exception as e:  # counted and shown, the run goes on
                    errors.append(repr(e))
                    continue
                with lock:
                    latencies.append(time.perf_counter() - t)
                    results.append((video, result))

    started = time.perf_counter()
    threads = [threading.Thread(target=client_thread) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - started
    return {"clients": clients, "requests": len(latencies), "errors": errors, "seconds": round(seconds, 2),
            "requests_per_s": round(len(latencies) / seconds, 3),
            "p50_ms": round(percentile(latencies, 50) * 1000), "p95_ms": round(percentile(latencies, 95) * 1000),
            "results": results}


def cli_one_by_one(model: Path, videos: list[Path], common: list[str]) -> tuple[float, list[dict]]:
    started, out = time.perf_counter(), []
    for i, video in enumerate(videos):
        cmd = [sys.executable, "-m", "fingereval.cli", "score", str(video), "--prompt", PROMPTS[i % len(PROMPTS)],
               "--model", str(model), "--json", *common]
        out.append(json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout))
    return time.perf_counter() - started, out


def load_service(model: Path, videos: list[Path], common: list[str], args, reference: dict) -> dict:
    """Start a service with these options, warm it, load it, read its memory, stop it; scores checked."""
    token, port = "bench-token", free_port()
    service = start_service(model, port, common, token)
    try:
        url = f"http://127.0.0.1:{port}"
        work = [(videos[i % len(videos)], PROMPTS[(i % len(videos)) % len(PROMPTS)]) for i in range(args.requests)]
        load(url, token, work[: args.clients], args.clients, args.max_seconds)  # warm: connections, first forwards
        row = load(url, token, work, args.clients, args.max_seconds)
        row.update(rss_mb(service.pid))
    finally:
        service.terminate()
        service.wait(30)
    for video, result in row.pop("results"):
        assert all(abs(a.p_yes - b.p_yes) < 1e-4 for a, b in zip(reference[video].questions, result.questions))
    return row


def print_depths(rows: dict, depths: list) -> None:
    """Each depth's runs (requests/s, p95, memory) and its median requests/s over the first depth's."""
    base = statistics.median(r["requests_per_s"] for r in rows[depths[0]])
    for depth in depths:
        runs = rows[depth]
        rate = statistics.median(r["requests_per_s"] for r in runs)
        print(f"--decode-ahead {depth}: requests/s {[r['requests_per_s'] for r in runs]}, "
              f"p95 ms {[r['p95_ms'] for r in runs]}, RSS MB {[r['rss_mb'] for r in runs]}, "
              f"peak MB {[r['peak_rss_mb'] for r in runs]}, errors {sum(len(r['errors']) for r in runs)}; "
              f"median {rate / base:.2f}x the first")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--requests", type=int, default=48, help="requests in all, spread over the clients")
    ap.add_argument("--videos", type=int, default=4, help="distinct videos (the CLI baseline scores each once)")
    ap.add_argument("--size", type=int, default=56)
    ap.add_argument("--max-frames", type=int, default=4)
    ap.add_argument("--max-seconds", type=float, default=180.0, help="the load stops sending after this")
    ap.add_argument("--video-px", type=int, default=112, help="the videos' side in pixels (decode cost grows with it)")
    ap.add_argument("--video-frames", type=int, default=16)
    ap.add_argument("--decode-ahead", default="", help="comma-separated depths, one service each (default: the service's)")
    ap.add_argument("--rounds", type=int, default=1, help="with several depths: how many times each is loaded, in turn")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    sys.path.insert(0, str(TESTS))
    from conftest import write_video

    from fingereval.config import ScoringConfig
    from fingereval.tiny.model import TinyShape, build_tiny_model

    tmp = Path(tempfile.mkdtemp(prefix="fingereval-bench-serve-"))
    model = build_tiny_model(tmp / "model", TinyShape(init_std=0.1), seed=0)
    videos = [write_video(tmp / f"v{i}.mp4", frames=args.video_frames, size=args.video_px, colour=COLOURS[i % 4], moving=i % 2 == 0)
              for i in range(args.videos)]
    common = ["--size", str(args.size), "--max-frames", str(args.max_frames)]

    cli_seconds, cli_results = cli_one_by_one(model, videos, common)
    evaluator = ScoringConfig(model=str(model), size=args.size, max_frames=args.max_frames).evaluator()
    evaluator.score(videos[0], PROMPTS[0])  # warm, as the service is warm when it answers its first request
    t = time.perf_counter()
    reference = {v: evaluator.score(v, PROMPTS[i % len(PROMPTS)]) for i, v in enumerate(videos)}
    in_process_seconds = time.perf_counter() - t
    for want, got in zip(reference.values(), cli_results):
        assert all(abs(a.p_yes - b["p_yes"]) < 1e-4 for a, b in zip(want.questions, got["questions"]))

    depths = [d.strip() for d in args.decode_ahead.split(",") if d.strip()] or [None]
    rows = {d: [] for d in depths}
    for _ in range(max(1, args.rounds)):
        for depth in depths:
            extra = [] if depth is None else ["--decode-ahead", depth]
            rows[depth].append(load_service(model, videos, common + extra, args, reference))
    row = rows[depths[0]][-1]
    if len(depths) > 1:
        print_depths(rows, depths)
    per_s = {"cli_subprocess": len(videos) / cli_seconds, "evaluator_in_process": len(videos) / in_process_seconds}
    report = {**row, "videos": len(videos), "questions_per_video": len(reference[videos[0]].questions),
              "cli_seconds_per_video": round(cli_seconds / len(videos), 3),
              "evaluator_seconds_per_video": round(in_process_seconds / len(videos), 3),
              "ratio_vs_cli": round(row["requests_per_s"] / per_s["cli_subprocess"], 2),
              "ratio_vs_evaluator": round(row["requests_per_s"] / per_s["evaluator_in_process"], 2)}
    if args.json:
        print(json.dumps(report))
        return 0 if not row["errors"] else 1
    print(f"tiny Qwen2.5-VL on CPU, {len(videos)} videos at {args.size}px, {args.max_frames} frames, "
          f"{report['questions_per_video']} generated questions each")
    print(f"service: {row['clients']} clients, {row['requests']} requests in {row['seconds']} s: "
          f"{row['requests_per_s']:.2f} requests/s, p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms, "
          f"errors {len(row['errors'])}; service memory {row['rss_mb']} MB (peak {row['peak_rss_mb']} MB)")
    print(f"`fingereval score` per video (subprocess): {report['cli_seconds_per_video']:.2f} s a video; "
          f"service {report['ratio_vs_cli']:.1f}x")
    print(f"Evaluator in process, one by one:          {report['evaluator_seconds_per_video']:.3f} s a video; "
          f"service {report['ratio_vs_evaluator']:.2f}x")
    for e in row["errors"][:5]:
        print("error:", e)
    return 0 if not row["errors"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
