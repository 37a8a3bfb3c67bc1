"""Score a manifest past one machine with Ray: one Evaluator per worker, results written by the driver.

Each Ray actor loads the model once and scores whole videos (the video is still encoded once per video,
questions share its prefix). The driver keeps one video in flight per actor, writes each result the
moment it comes back (same resumable results file as the local batch), and records a crashed actor's
video as a failure instead of stopping. Ray restarts a crashed actor once; one that dies again, or cannot
start (the model does not load), leaves the pool, and when no actor is left the run stops with a
WorkerError (the results so far stay in the file; the same command resumes).

A machine lost mid-batch is no fault of its videos: an actor whose node Ray reports dead leaves the pool
and the video it held goes back to the front of the queue, for another worker (docs/scale.md). Only the
driver writes results, once per item, when a result comes back, so nothing is lost or written twice.

Each actor decodes its next videos while its model works (fingereval.decode_ahead): the driver keeps a lane of
items for each actor (`decode_ahead` long) and names them with each video it sends; a lane goes back to the
queue when its actor leaves the pool, and at the end an idle actor takes the last item of the longest lane.

`address=None` starts Ray on this machine; "auto" joins the running cluster (`ray start --head` on one node,
`ray start --address HEAD:6379` on the others, with fingereval installed on every node).
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
NODE_DEATH_GRACE = 1.0  # seconds to wait for Ray to report an actor's node dead after the actor failed
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class _Worker:
    """The body of one Ray actor: the Evaluator its ScoringConfig describes, built once (from data, not objects)."""

    def __init__(self, config: Mapping, questions_dir: str | None, manifest_dir: str):
        from fingereval.config import ScoringConfig

        from fingereval.decode_ahead import decode_ahead_for

        scoring = ScoringConfig.model_validate(config)
        self.evaluator = scoring.evaluator()
        self.ahead = decode_ahead_for(self.evaluator, scoring.decode_ahead, scoring.decode_workers)
        self.questions_dir = Path(questions_dir) if questions_dir else None
        self.manifest_dir = Path(manifest_dir)

    def score(self, item: ManifestItem, upcoming: list[ManifestItem] = ()):
        """Score `item` while the videos of `upcoming` (this actor's next items) decode."""
        decoded = None
        if self.ahead is not None:
            decoded = self.ahead.take(item.key, item.video)
            self.ahead.expect((u.key, u.video, u.image) for u in upcoming)
        return score_item(self.evaluator, item, self.questions_dir, self.manifest_dir, decoded=decoded)

    def node(self) -> str:
        """The Ray node this incarnation of the actor runs on (asked before each video: a restart may move it)."""
        import ray

        return ray.get_runtime_context().get_node_id()


def _node_lost(ray, node_ref, grace: float = NODE_DEATH_GRACE) -> str | None:
    """The id of the node an actor ran on, when Ray reports that node dead (checked for `grace` seconds, as the
    news may come a moment after the actor's failure); None when the node lives or is unknown."""
    import time

    try:
        node = ray.get(node_ref, timeout=0)
    except Exception:  # the actor died before it said where it was: not known to be a lost node
        return None
    deadline = time.monotonic() + grace
    while True:
        if not any(n.get("NodeID") == node and n.get("Alive") for n in ray.nodes()):
            return node
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.2)


def _reason(e: Exception) -> str:
    """One line: for a worker that could not start, the exception its constructor raised (the last line)."""
    lines = [x.strip() for x in _ANSI.sub("", str(e)).splitlines() if x.strip()] or [type(e).__name__]
    return lines[-1] if getattr(e, "actor_init_failed", False) else lines[0]


class _Pool:
    """The driver's view of the actors: which holds which video, how many lives each has left, and why they left."""

    def __init__(self, ray, actors: list, items: list[ManifestItem], ahead: int = 0):
        self.ray, self.actors, self.queue = ray, actors, deque(items)
        self.ahead, self.lanes = ahead, [deque() for _ in actors]  # each actor's next items, decoding there
        self.lives = [1 + MAX_RESTARTS] * len(actors)  # one task is in flight per actor, so each death fails one task
        self.running: dict = {}  # score ref -> (actor index, item, that actor's node() ref)
        self.never_started = self.lost_nodes = 0
        self.last = ""

    def fill(self) -> None:
        """A video for every live actor that holds none, while the queue lasts."""
        busy = {i for i, _, _ in self.running.values()}
        starting = {}
        for i in range(len(self.actors)):
            if self.lives[i] > 0 and i not in busy and (item := self._next_for(i)) is not None:
                starting[i] = item
        for _ in range(self.ahead):  # then the lanes of those actors, one item each in turn
            for i in starting:
                if self.queue and len(self.lanes[i]) < self.ahead:
                    self.lanes[i].append(self.queue.popleft())
        for i, item in starting.items():
            node = self.actors[i].node.remote()  # runs first (an actor runs its calls in order): where it scores
            self.running[self.actors[i].score.remote(item, list(self.lanes[i]))] = (i, item, node)

    def _next_for(self, i: int) -> ManifestItem | None:
        """Actor i's next item: its lane's first, else the queue's, else the last of the longest other lane."""
        if self.lanes[i]:
            return self.lanes[i].popleft()
        if self.queue:
            return self.queue.popleft()
        longest = max(self.lanes, key=len)
        return longest.pop() if longest else None

    def _leave(self, i: int, item: ManifestItem | None = None) -> None:
        """Actor i leaves the pool: `item` and its lane go back to the front of the queue, in order."""
        self.lives[i] = 0
        self.queue.extendleft(reversed(([item] if item is not None else []) + list(self.lanes[i])))
        self.lanes[i].clear()

    def left(self) -> int:
        return sum(n > 0 for n in self.lives)

    def failed(self, i: int, item: ManifestItem, node_ref, error: Exception, model: str,
               on_event: Callable[[str], None]):
        """An actor died holding `item`: its result (a failure record), or None when the item goes back to the queue."""
        self.last = _reason(error)
        if getattr(error, "actor_init_failed", False):
            # the model did not load, which is no fault of this item: it goes back for another worker
            self.never_started += 1
            self._leave(i, item)
            on_event(f"Ray worker {i} could not start ({self.last}); dropped, {self.left()} of {len(self.actors)} left")
            return None
        node = _node_lost(self.ray, node_ref)
        if node is not None:  # its machine is gone, not its video: another worker scores it
            self.ray.kill(self.actors[i], no_restart=True)  # a restart would wait for a free CPU/GPU that others hold
            self.lost_nodes += 1
            self._leave(i, item)
            on_event(f"Ray worker {i} lost its node {node[:12]}; {item.key} goes back to the queue, "
                     f"{self.left()} of {len(self.actors)} workers left")
            return None
        self.lives[i] -= 1
        if self.lives[i] == 0:
            self._leave(i)
            on_event(f"Ray worker {i} died {1 + MAX_RESTARTS} times ({self.last}); dropped, "
                     f"{self.left()} of {len(self.actors)} left")
        return failure_result(item, RuntimeError(f"Ray worker failed: {self.last}"), model)

    def gone(self) -> WorkerError:
        """Why the batch stops with items left: every actor is gone."""
        n = len(self.actors)
        if self.never_started == n:
            what = "no Ray worker could start"
        elif self.lost_nodes == n:
            what = f"every Ray worker lost its node ({n} workers)"
        else:
            what = f"every Ray worker died or lost its node ({n} workers, each restarted {MAX_RESTARTS} time(s))"
        return WorkerError(f"{what}: {self.last}; {len(self.queue)} item(s) not scored")


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
    pool = _Pool(ray, actors, items, config.decode_ahead)
    pool.fill()
    try:
        while pool.running:
            ready, _ = ray.wait(list(pool.running), num_returns=1, timeout=1.0)  # wakes so that Ctrl-C and alarms run
            if not ready:
                continue
            (ref,) = ready
            i, item, node_ref = pool.running.pop(ref)
            try:
                result = ray.get(ref)
            except ray.exceptions.RayError as e:  # the actor died (the item's own errors come back as results)
                result = pool.failed(i, item, node_ref, e, config.model, on_event)
            pool.fill()
            if result is not None:
                yield result
        if pool.queue:  # every actor is gone and items are left: stop rather than fail them one by one
            raise pool.gone()
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
