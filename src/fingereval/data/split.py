"""The one rule that splits videos into a fit side and a held-out side (training data, calibration, probes).

Videos are ranked by a seeded hash of their key, so a split depends neither on their order nor on where the
folder lives. `round(held_out x videos)` are held out, at least one when `held_out` > 0 and there are two
videos or more, and never all of them: the fit side always keeps a video.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Iterable
from typing import TypeVar

T = TypeVar("T", bound=Hashable)


def held_out_count(videos: int, held_out: float) -> int:
    """How many of `videos` go to the held-out side for a share `held_out` in [0, 1)."""
    if not 0.0 <= held_out < 1.0:
        raise ValueError(f"held_out must be in [0, 1), got {held_out}")
    if videos < 2:
        return 0  # one video is all the fit side has
    n = round(held_out * videos)
    return min(max(n, 1) if held_out > 0 else n, videos - 1)


def split_videos(videos: Iterable[T], held_out: float, seed: int = 0,
                 key: Callable[[T], str] = str) -> tuple[set[T], set[T]]:
    """(fit, held out): distinct `videos` ranked by sha256 of "seed:key(video)", the first ones held out."""
    distinct = set(videos)
    ranked = sorted(distinct, key=lambda v: (hashlib.sha256(f"{seed}:{key(v)}".encode()).hexdigest(), str(v)))
    held = set(ranked[:held_out_count(len(ranked), held_out)])
    return distinct - held, held
