"""Score a manifest past one machine with Ray: one Evaluator per worker, results written by the driver.

Each Ray actor loads the model once and scores whole videos (the video is still encoded once per video,
questions share its prefix). The driver keeps one video in flight per actor, writes each result the
moment it comes back (same resumable results file as the local batch), and records a crashed actor's
video as a failure instead of stopping. Ray restarts a crashed actor once; one that dies again, or cannot
start (the model does not load), leaves the pool, and when no actor is left the run stops with a
WorkerError (the results so far stay in the file; the same command resumes). `address=None` starts Ray on this machine; "auto" joins the
running cluster (`ray start --head` on one node, `ray start --address HEAD:6379` on the others, with
fingereval installed on every node).
"""
from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

from fingereval.config import ScoringConfig
from fingereval.batch import BatchSummary, ManifestItem, failure_result, pending_items, score_item, write_results
from fingereval.errors import WorkerError

# Ray restarts a crashed actor this many times (the model is loaded again). After that the actor is dead for
# good and every item sent to it fails at once, so it is dropped from the pool instead.
MAX_RESTARTS = 1
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class _Worker:
    """The body of one Ray actor: the Evaluator its ScoringConfig describes, built once (from data, not objects)."""

    def __init__(self, config: Mapping, questions_dir: str | None, manifest_dir: str):
        from fingereval.config import ScoringConfig

        self.evaluator = ScoringConfig.model_validate(config).evaluator()
        self.questions_dir = Path(questions_dir) if questions_dir else None
        self.manifest_dir = Path(manifest_dir)

    def score(self, item: ManifestItem):
        return score_item(self.evaluator, item, self.questions_dir, self.manifest_dir)


def _reason(e: Exception) -> str:
    """One line: for a worker that could not start, the exception its constructor raised (the last line)."""
    lines = [x.strip() for x in _ANSI.sub("", str(e)).splitlines() if x.strip()] or [type(e).__name__]
    return lines[-1] if getattr(e, "actor_init_failed", False) else lines[0]


def ray_results(items: list[ManifestItem], config: ScoringConfig, *, questions_dir: Path | None, manifest_dir: Path,
                workers: int, gpus_per_worker: float = 0.0, cpus_per_worker: float = 1.0,
                address: str | None = None, on_event: Callable[[str], None] = print) -> Iterator:
    """VideoResults in the order they finish, from `workers` Ray actors; WorkerError when none is left."""
    import ray

    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    # A crashed actor (out of memory, a segfault in a decoder) is restarted; its video is recorded as failed.
    Worker = ray.remote(num_gpus=gpus_per_worker, num_cpus=cpus_per_worker, max_restarts=MAX_RESTARTS)(_Worker)
    actors = [Worker.remote(config.model_dump(mode="json"), str(questions_dir) if questions_dir else None, str(manifest_dir))
              for _ in range(max(1, min(workers, len(items))))] if items else []
    lives = [1 + MAX_RESTARTS] * len(actors)  # one task is in flight per actor, so each death fails one task
    never_started = 0
    queue = deque(items)
    running: dict = {}  # object ref -> (actor index, item)

    def submit(i: int) -> None:
        if queue:
            item = queue.popleft()
            running[actors[i].score.remote(item)] = (i, item)

    for i in range(len(actors)):
        submit(i)
    model = config.model
    last = ""
    try:
        while running:
            ready, _ = ray.wait(list(running), num_returns=1, timeout=1.0)  # wakes so that Ctrl-C and alarms run
            if not ready:
                continue
            (ref,) = ready
            i, item = running.pop(ref)
            result = None
            try:
                result = ray.get(ref)
            except ray.exceptions.RayError as e:  # the actor died (the item's own errors come back as results)
                last = _reason(e)
                if getattr(e, "actor_init_failed", False):
                    # the model did not load, which is no fault of this item: it goes back for another worker
                    lives[i], never_started = 0, never_started + 1
                    queue.appendleft(item)
                else:
                    lives[i] -= 1
                    result = failure_result(item, RuntimeError(f"Ray worker failed: {last}"), model)
                if lives[i] == 0:
                    how = "could not start" if result is None else f"died {1 + MAX_RESTARTS} times"
                    on_event(f"Ray worker {i} {how} ({last}); dropped, {sum(n > 0 for n in lives)} of {len(actors)} left")
            if lives[i] > 0:
                submit(i)
            if result is not None:
                yield result
        if queue:  # every actor is gone and items are left: stop rather than fail them one by one
            what = ("no Ray worker could start" if never_started == len(actors) else
                    f"every Ray worker died ({len(actors)} workers, each restarted {MAX_RESTARTS} time(s))")
            raise WorkerError(f"{what}: {last}; {len(queue)} item(s) not scored")
    finally:
        for actor in actors:
            ray.kill(actor)


def run_manifest_ray(config: ScoringConfig, manifest: Path, out: Path, *, workers: int, gpus_per_worker: float = 0.0,
                     cpus_per_worker: float = 1.0, address: str | None = None, questions_dir: Path | None = None,
                     retry_failed: bool = False, on_event=print, progress: bool = True) -> BatchSummary:
    """`batch.run_manifest` on Ray: same manifest, same results file, same resume and failure records.
    Raises WorkerError when every worker is gone; what was finished by then stays in `out`."""
    summary = BatchSummary()
    items = pending_items(manifest, out, summary, retry_failed=retry_failed, on_event=on_event)
    results = ray_results(items, config, questions_dir=questions_dir, manifest_dir=manifest.parent,
                          workers=workers, gpus_per_worker=gpus_per_worker, cpus_per_worker=cpus_per_worker,
                          address=address, on_event=on_event)
    try:
        return write_results(out, results, len(items), summary, on_event=on_event, progress=progress)
    except WorkerError as e:
        raise WorkerError(f"{e}. So far: {summary.report(out)}. Run the same command again to score the rest") from None
