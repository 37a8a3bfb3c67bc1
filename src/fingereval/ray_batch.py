"""Score a manifest past one machine with Ray: one Evaluator per worker, results written by the driver.

Each Ray actor loads the model once and scores whole videos (the video is still encoded once per video,
questions share its prefix). The driver keeps one video in flight per actor, writes each result the
moment it comes back (same resumable results file as the local batch), and records a crashed actor's
video as a failure instead of stopping. `address=None` starts Ray on this machine; "auto" joins the
running cluster (`ray start --head` on one node, `ray start --address HEAD:6379` on the others, with
fingereval installed on every node).
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from pathlib import Path

from fingereval.batch import BatchSummary, ManifestItem, failure_result, pending_items, score_item, write_results


class _Worker:
    """The body of one Ray actor: an Evaluator built once from plain keyword arguments."""

    def __init__(self, evaluator_kwargs: Mapping, questions_dir: str | None, manifest_dir: str):
        from fingereval.evaluator import Evaluator

        self.evaluator = Evaluator(**evaluator_kwargs)
        self.questions_dir = Path(questions_dir) if questions_dir else None
        self.manifest_dir = Path(manifest_dir)

    def score(self, item: ManifestItem):
        return score_item(self.evaluator, item, self.questions_dir, self.manifest_dir)


def ray_results(items: list[ManifestItem], evaluator_kwargs: Mapping, *, questions_dir: Path | None, manifest_dir: Path,
                workers: int, gpus_per_worker: float = 0.0, cpus_per_worker: float = 1.0,
                address: str | None = None) -> Iterator:
    """VideoResults in the order they finish, from `workers` Ray actors."""
    import ray

    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    # A crashed actor (out of memory, a segfault in a decoder) is restarted once; its video is recorded as failed.
    Worker = ray.remote(num_gpus=gpus_per_worker, num_cpus=cpus_per_worker, max_restarts=1)(_Worker)
    actors = [Worker.remote(dict(evaluator_kwargs), str(questions_dir) if questions_dir else None, str(manifest_dir))
              for _ in range(max(1, min(workers, len(items))))] if items else []
    queue = deque(items)
    running: dict = {}  # object ref -> (actor, item)

    def submit(actor) -> None:
        if queue:
            item = queue.popleft()
            running[actor.score.remote(item)] = (actor, item)

    for actor in actors:
        submit(actor)
    model = str(evaluator_kwargs.get("model", ""))
    try:
        while running:
            (ref,), _ = ray.wait(list(running), num_returns=1)
            actor, item = running.pop(ref)
            try:
                result = ray.get(ref)
            except ray.exceptions.RayError as e:  # the actor died on this video (the item's own errors come back as results)
                result = failure_result(item, RuntimeError(f"Ray worker failed: {str(e).splitlines()[0]}"), model)
            submit(actor)
            yield result
    finally:
        for actor in actors:
            ray.kill(actor)


def run_manifest_ray(evaluator_kwargs: Mapping, manifest: Path, out: Path, *, workers: int, gpus_per_worker: float = 0.0,
                     cpus_per_worker: float = 1.0, address: str | None = None, questions_dir: Path | None = None,
                     retry_failed: bool = False, on_event=print, progress: bool = True) -> BatchSummary:
    """`batch.run_manifest` on Ray: same manifest, same results file, same resume and failure records."""
    summary = BatchSummary()
    items = pending_items(manifest, out, summary, retry_failed=retry_failed, on_event=on_event)
    results = ray_results(items, evaluator_kwargs, questions_dir=questions_dir, manifest_dir=manifest.parent,
                          workers=workers, gpus_per_worker=gpus_per_worker, cpus_per_worker=cpus_per_worker,
                          address=address)
    return write_results(out, results, len(items), summary, on_event=on_event, progress=progress)
