"""The one model worker: a thread that owns the Evaluator, takes jobs from a bounded queue and scores what waits.

The model is not shared between threads: every job runs on this thread, so requests can arrive from any number
of clients while the model sees one batch at a time. A job is a concurrent.futures.Future, so the request side
can wait on it from asyncio. A job whose client got its answer (504) or left is abandoned: one still waiting
leaves the queue at once, its slot free for the next request; one the worker holds is dropped at the worker's
next check (before each video, and between decoding a video and handing it to the model). While the model works
on one video the worker decodes the next ones (the rest of its batch, then what waits in the queue) on threads,
`decode_ahead` of them at most (fingereval.decode_ahead); with videos_at_once > 1 each thread decodes its own.
"""
from __future__ import annotations

import collections
import itertools
import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from fingereval.decode_ahead import DEFAULT_DEPTH, DEFAULT_WORKERS, decode_ahead_for
from fingereval.limits import InputLimits
from fingereval.schema import QuestionSet, VideoResult

log = logging.getLogger("fingereval.serve")


class QueueFull(Exception):
    """No room for the job: the caller answers 503 with Retry-After."""

    def __init__(self, retry_after: int):
        super().__init__(f"the scoring queue is full; retry in {retry_after} s")
        self.retry_after = retry_after


class Abandoned(Exception):
    """The job's client is gone (or was answered 504) before the model reached it: it was not scored."""


@dataclass(eq=False)
class Job:
    video: Path  # the file the worker opens (an upload's temp file, or a resolved path inside the allow-dir)
    name: str  # the result's `video` field: what the client called it
    prompt: str
    questions: QuestionSet
    reason: bool | None = None
    item_id: str | None = None
    image: Path | None = None  # image-to-video: the conditioning image's file (an upload's temp file, or inside the allow-dir)
    image_name: str | None = None  # the result's `image.path`: what the client called it
    future: Future = field(default_factory=Future)
    abandoned: threading.Event = field(default_factory=threading.Event)

    def abandon(self) -> None:
        """Nobody waits for it any more: dropped from the queue now, or at the worker's next check."""
        self.abandoned.set()
        self.future.cancel()  # a no-op once the worker holds it; the event stops it there


class ModelWorker:
    def __init__(self, evaluator, *, max_queue: int, max_batch: int = 8, videos_at_once: int = 1,
                 limits: InputLimits | None = None, decode_ahead: int = DEFAULT_DEPTH,
                 decode_workers: int = DEFAULT_WORKERS):
        self.evaluator = evaluator
        self.max_queue = max_queue
        self.max_batch = max_batch
        self.videos_at_once = videos_at_once
        self.limits = limits
        self._queue: collections.deque[Job] = collections.deque()  # admitted, not yet taken; at most max_queue
        self._ready = threading.Condition()
        self._stopping = False
        self._busy = False
        self._seconds_per_video = 1.0  # a running mean, for Retry-After
        self._thread = threading.Thread(target=self._run, name="fingereval-model", daemon=True)
        self._pool = ThreadPoolExecutor(videos_at_once, "fingereval-video") if videos_at_once > 1 else None
        self._ahead = decode_ahead_for(evaluator, decode_ahead, decode_workers, limits) if self._pool is None else None

    # ---- the request side ---------------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def submit(self, jobs: list[Job]) -> None:
        """Queue every job or none (a batch is admitted whole), else QueueFull."""
        with self._ready:
            if len(self._queue) + len(jobs) > self.max_queue:
                raise QueueFull(self.retry_after())
            self._queue.extend(jobs)
            self._ready.notify()
        for job in jobs:  # after the lock: a job cancelled already runs its callback here, at once
            job.future.add_done_callback(lambda _, job=job: self._leave(job))

    def _leave(self, job: Job) -> None:
        """A job ended while it waited (cancelled): its slot is free now, not when the worker gets to it."""
        with self._ready:
            try:
                self._queue.remove(job)
            except ValueError:  # taken by the worker already
                pass

    def retry_after(self) -> int:
        """Seconds until the queue has likely drained enough for one more video (at least 1)."""
        return max(1, round(self._seconds_per_video * max(1, len(self._queue)) / max(1, self.videos_at_once)))

    @property
    def waiting(self) -> int:
        return len(self._queue)

    @property
    def busy(self) -> bool:
        return self._busy

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the video in hand, cancel what still waits, and end the thread."""
        with self._ready:
            self._stopping = True
            left = list(self._queue)
            self._ready.notify()
        for job in left:
            job.future.cancel()
        self._thread.join(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        if self._ahead is not None:
            self._ahead.close()

    # ---- the worker thread --------------------------------------------------------------------------------------

    def _take(self) -> list[Job] | None:
        """What waits, up to max_batch (blocking until something does); None when told to stop."""
        with self._ready:
            while not self._queue and not self._stopping:
                self._ready.wait()
            if self._stopping:
                return None
            batch = [self._queue.popleft() for _ in range(min(self.max_batch, len(self._queue)))]
            self._busy = True  # under the lock with the pop: never idle-looking with jobs in hand
        return batch

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            started = time.perf_counter()
            if self._pool is None:
                scored = sum(self._score(job, batch[k + 1:]) for k, job in enumerate(batch))
            else:  # an answerer that waits on a server: several videos in flight, like `score --videos-at-once`
                scored = sum(self._pool.map(self._score, batch))
            if scored:
                per_video = (time.perf_counter() - started) / scored
                self._seconds_per_video = 0.8 * self._seconds_per_video + 0.2 * per_video
            self._busy = False

    def _score(self, job: Job, later: list[Job] = ()) -> bool:
        """Score one job (False: its client is gone, so it is skipped), the videos of `later` and then of the
        queue decoding meanwhile."""
        if job.abandoned.is_set() or not job.future.set_running_or_notify_cancel():
            return False
        ahead = {} if self._ahead is None else {"decoded": self._decode_ahead(job, later)}
        try:
            image = {} if job.image is None else {"image": job.image}
            result: VideoResult = self.evaluator.score(job.video, job.prompt, job.questions, reason=job.reason,
                                                       item_id=job.item_id, limits=self.limits,
                                                       before_model=lambda: _check(job), **ahead, **image)
            result.video = job.name
            if result.image is not None:
                result.image.path = job.image_name
            job.future.set_result(result)
        except Abandoned as e:
            job.future.set_exception(e)
            return False
        except Exception as e:  # any failure is this request's answer, never the worker's end
            job.future.set_exception(e)
        return True


    def _decode_ahead(self, job: Job, later: list[Job]):
        """`job`'s clip if it was decoded ahead (else None: decoded in line), the next videos started."""
        decoded = self._ahead.take(job, job.video)
        with self._ready:
            waiting = list(itertools.islice(self._queue, self._ahead.depth))
        self._ahead.expect((j, j.video, j.image) for j in [*later, *waiting] if not j.abandoned.is_set())
        return decoded


def _check(job: Job) -> None:
    if job.abandoned.is_set():
        raise Abandoned(f"{job.name}: its client is gone; not scored")
