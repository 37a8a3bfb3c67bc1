"""Decode ahead: the next videos are decoded while the model works on the current one.

In line, a batch decodes a video, hands it to the model, and decodes the next one only when the model is done:
on a GPU the model waits for PyAV most of the time (docs/speed.md). Here the videos to come are decoded on
`workers` threads while the model answers, at most `depth` of them ahead of the one the model holds, so at most
depth + 1 decoded clips are in memory at once (the peak is counted and reported; docs/speed.md gives the sizes).
An answerer's `prepare` step (the transformers answerer runs its processor there) runs on the same threads.

Nothing about a result changes. A video that fails to decode gives the error decoding in line gives, raised where
the evaluator would have decoded it (after its prompt and questions are checked), so its error record is the same
one, at the same place in the results. Threads, not processes: PyAV and torch release the GIL while they work, and
threads measured faster here (docs/speed.md, "Decoding ahead"); `processes=True` is kept for that comparison.
"""
from __future__ import annotations

import dataclasses
import functools
import itertools
import logging
import threading
from collections.abc import Callable, Hashable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from fingereval.image import load_image
from fingereval.limits import InputLimits
from fingereval.video import VideoClip, VideoConfig, load_video

log = logging.getLogger("fingereval.decode_ahead")

DEFAULT_DEPTH = 2  # videos decoded ahead of the one the model holds (docs/speed.md, "Decoding ahead")
DEFAULT_WORKERS = 1  # decoding threads; FFmpeg's own frame threads already use the other cores


def clip_bytes(clip: VideoClip) -> int:
    """Memory one decoded clip holds: its frames, and the tensors an answerer's `prepare` made of them."""
    return int(clip.frames.nbytes) + int(getattr(clip, "prepared_bytes", 0))


@dataclass
class AheadStats:
    decoded: int = 0  # videos decoded ahead (the decoded ones not taken are counted too)
    peak_clips: int = 0  # decoded clips in memory at once: those waiting plus the one the model holds
    peak_bytes: int = 0  # the most bytes they held at once (clip_bytes)

    def line(self, depth: int, workers: int) -> str:
        return (f"decoded ahead: {self.decoded} videos, {depth} deep on {workers} thread(s); at most "
                f"{self.peak_clips} decoded clips in memory at once ({self.peak_bytes / 1e6:.1f} MB)")


class DecodeAhead:
    """Decodes the videos the caller says come next, by key, while it works on the one it took.

        ahead.expect([(key, path), ...])    # the next videos, in order: the first `depth` are decoded
                                            # ((key, path, image): an image-to-video clip's image with it)
        decoded = ahead.take(key, path)     # a call giving that video's clip, or None: decode it in line
        evaluator.score(path, ..., decoded=decoded)

    `expect` forgets a decode it no longer lists (a job that left, a video another worker took). Use from one
    thread; the decoding happens on the pool's.
    """

    def __init__(self, config: VideoConfig, limits: InputLimits | None = None, *, depth: int = DEFAULT_DEPTH,
                 workers: int = DEFAULT_WORKERS, prepare: Callable[[VideoClip], VideoClip] | None = None,
                 processes: bool = False):
        if depth < 1 or workers < 1:
            raise ValueError(f"decode ahead needs depth >= 1 and workers >= 1, not {depth} and {workers}")
        self.depth, self.workers = depth, workers
        self._prepare = prepare
        self._load = functools.partial(load_video, config=config, limits=limits)
        self._frame_shape = config.frame_shape  # a conditioning image is resized as the frames are
        self._threads = ThreadPoolExecutor(workers, thread_name_prefix="fingereval-decode")
        self._processes = _process_pool(workers) if processes else None
        self._ahead: dict[Hashable, Future] = {}  # expected and not taken, in the order expected
        self._ready: dict[Hashable, int] = {}  # of those, the decoded ones: their bytes
        self._held = 0  # bytes of the clip the caller took last (held until it takes the next)
        self._lock = threading.Lock()
        self.stats = AheadStats()

    def expect(self, upcoming: Iterable[tuple]) -> None:
        """The videos to come, in order, as (key, path) or (key, path, conditioning image path or None): the first
        `depth` are decoded with their image (those started go on), the rest wait."""
        wanted = list(itertools.islice(upcoming, self.depth))
        keys = {entry[0] for entry in wanted}
        with self._lock:
            for key in [k for k in self._ahead if k not in keys]:  # no longer next: its clip is dropped
                self._ahead.pop(key).cancel()
                self._ready.pop(key, None)
            for key, path, *image in wanted:
                if key not in self._ahead:
                    self._ahead[key] = self._threads.submit(self._decode, key, path, *image)

    def take(self, key: Hashable, path: str | Path) -> Callable[[], VideoClip] | None:
        """The clip of `key` as a call that returns it (or raises its decoding error) where the caller would
        decode; None when it was not expected (decode it in line). The clip taken before is let go."""
        with self._lock:
            self._held = 0
            future = self._ahead.pop(key, None)
        return None if future is None else functools.partial(self._hand_over, key, future)

    def close(self) -> None:
        with self._lock:
            for future in self._ahead.values():
                future.cancel()
            self._ahead.clear()
            self._ready.clear()
            self._held = 0
        self._threads.shutdown(wait=True)
        if self._processes is not None:
            self._processes.shutdown(wait=True)

    def __enter__(self) -> "DecodeAhead":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ---- the decoding threads ------------------------------------------------------------------------------------

    def _decode(self, key: Hashable, path: str | Path, image: str | Path | None = None) -> VideoClip:
        if self._processes is not None:
            clip = self._processes.submit(self._load, path).result()
        else:
            clip = self._load(path)
        if image is not None:  # after the video, as the evaluator loads it in line: the same error comes first
            clip = dataclasses.replace(clip, image=load_image(image, self._frame_shape))
        if self._prepare is not None:
            clip = self._prepare(clip)
        with self._lock:
            self.stats.decoded += 1
            if key in self._ahead:  # still expected and not taken: it waits in memory
                self._ready[key] = clip_bytes(clip)
                self._count_peak()
        return clip

    def _hand_over(self, key: Hashable, future: Future) -> VideoClip:
        clip = future.result()  # the decoding error, if any, is raised here: where in-line decoding raises it
        with self._lock:
            self._ready.pop(key, None)
            self._held = clip_bytes(clip)
            self._count_peak()
        return clip

    def _count_peak(self) -> None:
        self.stats.peak_clips = max(self.stats.peak_clips, len(self._ready) + bool(self._held))
        self.stats.peak_bytes = max(self.stats.peak_bytes, sum(self._ready.values()) + self._held)


def _process_pool(workers: int) -> ProcessPoolExecutor:
    import multiprocessing

    # spawn: a forked copy of a process holding torch's threads (and CUDA) can hang
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))


def decode_ahead_for(evaluator, depth: int, workers: int = DEFAULT_WORKERS, limits: InputLimits | None = None,
                     processes: bool = False) -> DecodeAhead | None:
    """The DecodeAhead an evaluator's videos need (its answerer's video config and `prepare`, the caps it checks:
    `limits`, else the evaluator's); None when `depth` is 0 or the evaluator is not one (a stand-in)."""
    answerer = getattr(evaluator, "answerer", None)
    config = getattr(answerer, "video_config", None)
    if depth <= 0 or not isinstance(config, VideoConfig):
        return None
    prepare = getattr(answerer, "prepare", None)
    return DecodeAhead(config, limits or getattr(evaluator, "limits", None), depth=depth, workers=workers,
                       prepare=prepare if callable(prepare) else None, processes=processes)


def scored_in_order(ahead: DecodeAhead, items: list, path_of: Callable, score: Callable,
                    image_of: Callable = lambda item: None) -> Iterator:
    """`score(item, decoded)` of each item, in order, the next `depth` items' videos (and their conditioning
    images, `image_of(item)`) decoding meanwhile."""
    # by position: a video may be listed twice
    keyed = [(i, path_of(item), image_of(item)) for i, item in enumerate(items)]
    ahead.expect(keyed[:ahead.depth])
    for i, item in enumerate(items):
        decoded = ahead.take(i, keyed[i][1])
        ahead.expect(keyed[i + 1:i + 1 + ahead.depth])
        yield score(item, decoded)
