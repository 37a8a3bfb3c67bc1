"""A manifest scored in one process (all cores to torch) vs on N Ray workers (one core each), same run.

Both score the same probe videos with the same tiny checkpoint and questions; times include loading the
model (and starting Ray and its workers), so the ratio is what a user sees end to end, and the p_yes of
the two runs are compared. On one small machine Ray only adds its start-up; its gain is more machines
(`--address auto` joins a cluster) or one worker per GPU, which a CPU sandbox cannot show.

    .venv/bin/python benchmarks/bench_ray_batch.py --videos 24 --workers 2       # CPU, a few minutes
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=24)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--size", type=int, default=224, help="frame side; 224 px gives 256 video tokens per 8 frames")
    ap.add_argument("--address", default=None, help="Ray cluster address (default: Ray on this machine)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    import ray
    import torch

    from fingereval.tiny.model import TinyShape, build_tiny_model
    from fingereval.batch import run_manifest
    from fingereval.data.instruct import group_by_video, load_instruct
    from fingereval.config import ScoringConfig
    from fingereval.probes.make import make_probes
    from fingereval.ray_batch import run_manifest_ray

    tmp = Path(tempfile.mkdtemp(prefix="fingereval-ray-"))
    probes = make_probes(tmp / "probes", args.videos, seed=0, size=args.size)
    by_video = {video: {"id": Path(video).stem, "video": video, "prompt": recs[0].prompt,
                        "questions": [{"id": r.id, "dimension": r.dimension, "entity": r.entity, "text": r.question,
                                       "good_answer": r.good_answer} for r in recs]}
                for video, recs in group_by_video(load_instruct(probes.qa_path)).items()}
    manifest = probes.root / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(x) + "\n" for x in by_video.values()))
    model = build_tiny_model(tmp / "model", TinyShape(init_std=0.1))
    config = ScoringConfig(model=str(model), fps=2.0, max_frames=8, size=args.size, answerer_options={"device": "cpu"})
    quiet = lambda m: None  # noqa: E731

    torch.set_num_threads(os.cpu_count() or 1)
    t0 = time.perf_counter()
    local = run_manifest(config.evaluator(), manifest, tmp / "local.jsonl", progress=False, on_event=quiet)
    local_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    ray.init(address=args.address, include_dashboard=False, log_to_driver=False)
    remote = run_manifest_ray(config, manifest, tmp / "ray.jsonl", workers=args.workers, progress=False, on_event=quiet)
    ray_s = time.perf_counter() - t0
    ray.shutdown()

    def p_yes(path: Path) -> dict:
        return {r["id"]: [q["p_yes"] for q in r["questions"]] for r in map(json.loads, path.read_text().splitlines())}

    a, b = p_yes(tmp / "local.jsonl"), p_yes(tmp / "ray.jsonl")
    max_diff = max(abs(x - y) for k in a for x, y in zip(a[k], b[k]))
    report = {"videos": len(by_video), "questions": sum(len(v) for v in a.values()), "workers": args.workers,
              "cpus": os.cpu_count(), "size": args.size, "in_process_s": round(local_s, 2), "ray_s": round(ray_s, 2),
              "speedup": round(local_s / ray_s, 2), "done": [local.done, remote.done], "max_p_yes_diff": max_diff}
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{report['videos']} videos, {report['questions']} questions, {args.size} px: in one process "
              f"{local_s:.1f} s, on {args.workers} Ray workers {ray_s:.1f} s -> {report['speedup']}x "
              f"(p_yes agree to {max_diff:.1e})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
