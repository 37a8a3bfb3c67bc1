"""Joining a benchmark's videos with what we know about them (our results, or human ratings).

Users keep videos in other folders than the benchmark file says, so a lookup tries the exact
(normalised) path first and then the bare file name. A bare name is a guess, so it joins only when
exactly one known video and one benchmark video carry it: with 'a/x.mp4' and 'b/x.mp4' on either side,
'x.mp4' cannot say which is which, and joining would give two benchmark videos one score (or pick one
of two scores). Those videos stay unjoined and the report counts them.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Generic, TypeVar

from fingereval.measure.results import MAX_EXAMPLES, _normal_path, video_name

T = TypeVar("T")


def _paths_by_name(paths: Iterable[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in paths:
        found.setdefault(video_name(path), set()).add(path)
    return found


class VideoJoin(Generic[T]):
    """Look up benchmark videos (`wanted`) among `known` ({video path: value}), counting how each joined."""

    def __init__(self, known: Mapping[str, T], wanted: Iterable[str]):
        self._by_path = {_normal_path(k): v for k, v in known.items()}
        self._known_names = _paths_by_name(self._by_path)
        wanted_names = _paths_by_name({_normal_path(w) for w in wanted})
        self._ambiguous = ({n for n, p in self._known_names.items() if len(p) > 1}
                           | {n for n, p in wanted_names.items() if len(p) > 1})
        self._how: dict[str, str] = {}  # benchmark video (normalised) -> path, name, ambiguous, missing

    def find(self, video: str) -> T | None:
        key = _normal_path(video)
        if key in self._by_path:
            self._how[key] = "path"
            return self._by_path[key]
        name = video_name(key)
        candidates = self._known_names.get(name)
        if not candidates:
            self._how[key] = "missing"
            return None
        if name in self._ambiguous:
            self._how[key] = "ambiguous"
            return None
        self._how[key] = "name"
        return self._by_path[next(iter(candidates))]

    def summary(self) -> dict[str, Any]:
        """How the distinct benchmark videos looked up so far were joined."""
        count = {how: sum(h == how for h in self._how.values()) for how in ("path", "name", "ambiguous", "missing")}
        names = sorted({video_name(k) for k, h in self._how.items() if h == "ambiguous"})
        return {"videos": len(self._how), "by_path": count["path"], "by_name": count["name"],
                "ambiguous_videos": count["ambiguous"], "ambiguous_names": len(names),
                "ambiguous_examples": names[:MAX_EXAMPLES], "not_found": count["missing"]}
