"""GenAI-Bench end to end over synthetic stand-in videos named as in the real pairs file.

The real GenAI-Bench videos live on a hub this machine cannot reach, so each video the pairs name is
replaced by a short synthetic clip with that file name. The run goes through exactly what a user runs:
manifest from the pairs file -> `score --manifest` (tiny model unless --model) -> `bench pairs`. It shows
the path works and how long each stage takes; the accuracies themselves mean nothing on stand-ins.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/genai_bench_end_to_end.py --pairs 100 --json
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
PAIRS_FILE = ROOT / "tests" / "data" / "genai_bench_video_test_pairs.json"


def stand_in(path: Path, seed: int, size: int = 112, seconds: float = 2.0) -> None:
    """A coloured disc moving on a plain background, different per video name."""
    from fingereval.probes.render import write_mp4

    rng = np.random.default_rng(seed)
    n = int(seconds * 8)
    colour = rng.integers(40, 255, 3)
    yy, xx = np.mgrid[:size, :size]
    x0, y0, vx, vy = rng.uniform(20, size - 20), rng.uniform(20, size - 20), rng.uniform(-4, 4), rng.uniform(-4, 4)
    frames = np.full((n, size, size, 3), rng.integers(0, 60), np.uint8)
    for i in range(n):
        disc = (xx - x0 - vx * i) ** 2 + (yy - y0 - vy * i) ** 2 < 12 ** 2
        frames[i][disc] = colour
    write_mp4(path, frames, fps=8)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pairs", type=int, default=100, help="first N pairs of the real file (0: all 1,889)")
    ap.add_argument("--model", default=None, help="checkpoint (default: a tiny random one built here)")
    ap.add_argument("--workdir", type=Path, default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    from typer.testing import CliRunner

    from fingereval.cli import app
    from fingereval.measure.pairs import load_pairs

    work = args.workdir or Path(tempfile.mkdtemp(prefix="genai-bench-"))
    pairs_all = json.loads(PAIRS_FILE.read_text())
    subset = pairs_all[: args.pairs] if args.pairs else pairs_all
    pairs_path = work / "pairs.json"
    work.mkdir(parents=True, exist_ok=True)
    pairs_path.write_text(json.dumps(subset))
    timings, runner = {}, CliRunner()

    t = time.perf_counter()
    videos = {v for p in load_pairs(pairs_path, "genai-bench") for v in (p.first, p.second)}
    for i, name in enumerate(sorted(videos)):
        stand_in(work / "videos" / name, seed=i)
    timings["render_s"] = time.perf_counter() - t

    model = args.model
    if model is None:
        from fingereval.tiny.model import build_tiny_model

        model = str(build_tiny_model(work / "tiny"))

    def run(*cli: str) -> str:
        r = runner.invoke(app, list(cli))
        if r.exit_code != 0:
            raise SystemExit(f"fingereval {' '.join(cli)} failed: {r.output}")
        return r.stdout

    t = time.perf_counter()
    run("bench", "pairs", "--benchmark", "genai-bench", "--pairs", str(pairs_path), "--videos", str(work / "videos"),
        "--write-manifest", str(work / "manifest.jsonl"))
    timings["manifest_s"] = time.perf_counter() - t
    t = time.perf_counter()
    run("score", "--manifest", str(work / "manifest.jsonl"), "--out", str(work / "results.jsonl"), "--model", model,
        "--size", "112", "--max-frames", "8")
    timings["score_s"] = time.perf_counter() - t
    t = time.perf_counter()
    report = json.loads(run("bench", "pairs", "--benchmark", "genai-bench", "--pairs", str(pairs_path), "--scores",
                            str(work / "results.jsonl"), "--json", "--resamples", "200"))
    timings["bench_s"] = time.perf_counter() - t
    summary = {"pairs": len(subset), "videos": len(videos), "seconds_per_video": timings["score_s"] / len(videos),
               "n_joined": report["n_joined"], "n_unjoined": report["n_unjoined"],
               "overall_tau": report["metrics"]["overall"]["tau"]["value"] if "overall" in report["metrics"] else None,
               **{k: round(v, 2) for k, v in timings.items()}, "workdir": str(work)}
    print(json.dumps(summary) if args.json else "\n".join(f"{k}: {v}" for k, v in summary.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
