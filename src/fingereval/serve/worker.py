"""The one model worker: a thread that owns the Evaluator, takes jobs from a bounded queue and scores what waits.

The model is not shared between threads: every job runs on this thread, so requests can arrive from any number
of clients while the model sees one batch at a time. A job is a concurrent.futures.Future, so the request side
can wait on it from asyncio, time it out, or cancel it while it still waits (the worker then skips it).
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from fingereval.schema import QuestionSet, VideoResult

log = logging.getLogger("fingereval.serve")


class QueueFull(Exception):
    """No room for the job: the caller answers 503 with Retry-After."""

    def __init__(self, retry_after: int):
        super().__init__(f"the scoring queue is full; retry in {retry_after} s")
        self.retry_after = retry_after


@dataclass
class Job:
    video: Path  # the file the worker opens (an upload's temp file, or a resolved path inside the allow-dir)
    name: str  # the result's `video` field: what the client called it
    prompt: str
    questions: QuestionSet
    reason: bool | None = None
    item_id: str | None = None
    future: Future = field(default_factory=Future)


class ModelWorker:
    def __init__(self, evaluator, *, max_queue: int, max_batch: int = 8, videos_at_once: int = 1):
        self.evaluator = evaluator
        self.max_queue = max_queue
        self.max_batch = max_batch
        self.videos_at_once = videos_at_once
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()  # bounded by _waiting below
        self._lock = threading.Lock()
        self._waiting = 0  # jobs admitted and not yet taken by the worker
        self._busy = False
        self._seconds_per_video = 1.0  # a running mean, for Retry-After
        self._thread = threading.Thread(target=self._run, name="fingereval-model", daemon=True)
        self._pool = ThreadPoolExecutor(videos_at_once, "fingereval-video") if videos_at_once > 1 else None

    # ---- the request side ---------------------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def submit(self, jobs: list[Job]) -> None:
        """Queue every job or none (a batch is admitted whole), else QueueFull."""
        with self._lock:
            if self._waiting + len(jobs) > self.max_queue:
                raise QueueFull(self.retry_after())
            self._waiting += len(jobs)
        for job in jobs:
            self._jobs.put(job)

    def retry_after(self) -> int:
        """Seconds until the queue has likely drained enough for one more video (at least 1)."""
        return max(1, round(self._seconds_per_video * max(1, self._waiting) / max(1, self.videos_at_once)))

    @property
    def waiting(self) -> int:
        return self._waiting

    @property
    def busy(self) -> bool:
        return self._busy

    def stop(self, timeout: float = 30.0) -> None:
        """Finish the video in hand, cancel what still waits, and end the thread."""
        self._jobs.put(None)
        self._thread.join(timeout)
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                job.future.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=True)

    # ---- the worker thread --------------------------------------------------------------------------------------

    def _take(self) -> list[Job] | None:
        """The next job and whatever else waits, up to max_batch; None when told to stop."""
        first = self._jobs.get()
        if first is None:
            return None
        batch = [first]
        while len(batch) < self.max_batch:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is None:  # stop after this batch
                self._jobs.put(None)
                break
            batch.append(job)
        with self._lock:
            self._busy = True  # before the jobs leave the count: never idle-looking with jobs in hand
            self._waiting -= len(batch)
        return batch

    def _run(self) -> None:
        while (batch := self._take()) is not None:
            started = time.perf_counter()
            if self._pool is None:
                scored = sum(self._score(job) for job in batch)
            else:  # an answerer that waits on a server: several videos in flight, like `score --videos-at-once`
                scored = sum(self._pool.map(self._score, batch))
            if scored:
                per_video = (time.perf_counter() - started) / scored
                self._seconds_per_video = 0.8 * self._seconds_per_video + 0.2 * per_video
            self._busy = False

    def _score(self, job: Job) -> bool:
        """Score one job (False: it was cancelled while it waited, so it is skipped)."""
        if not job.future.set_running_or_notify_cancel():
            return False
        try:
            result: VideoResult = self.evaluator.score(job.video, job.prompt, job.questions, reason=job.reason,
                                                       item_id=job.item_id)
            result.video = job.name
            job.future.set_result(result)
        except Exception as e:  # any failure is this request's answer, never the worker's end
            job.future.set_exception(e)
        return True
