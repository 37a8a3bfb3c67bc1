"""Login sessions and the login attempt limit, both held in memory (a restart logs everyone out).

A session is a random id in an HttpOnly cookie, kept on the server with the person it was opened for
and its expiry, so that logging out ends it at once. The attempt limit counts wrong tokens per client
address (at the login form and in `Authorization` headers alike): past `max_failures` within
`window_s` seconds every token from that address is refused with 429 until the oldest failure ages out.
"""
from __future__ import annotations

import math
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Session:
    name: str | None  # the person's name; None for the one person of the shared token
    expires: float


class Sessions:
    """Session id -> Session; at most `per_person` open sessions each (the oldest is closed first)."""

    def __init__(self, lifetime_s: float, per_person: int = 20, clock: Callable[[], float] = time.monotonic):
        self.lifetime_s, self.per_person, self.clock = lifetime_s, per_person, clock
        self._open: OrderedDict[str, Session] = OrderedDict()  # oldest first
        self._lock = threading.Lock()

    def open(self, name: str | None) -> str:
        session_id = secrets.token_urlsafe(32)
        with self._lock:
            self._drop_expired()
            mine = [sid for sid, s in self._open.items() if s.name == name]
            for sid in mine[:max(0, len(mine) - self.per_person + 1)]:
                del self._open[sid]
            self._open[session_id] = Session(name, self.clock() + self.lifetime_s)
        return session_id

    def get(self, session_id: str) -> Session | None:
        with self._lock:
            session = self._open.get(session_id)
            if session is not None and session.expires <= self.clock():
                del self._open[session_id]
                return None
            return session

    def close(self, session_id: str) -> bool:
        with self._lock:
            return self._open.pop(session_id, None) is not None

    def __len__(self) -> int:
        return len(self._open)

    def _drop_expired(self) -> None:
        now = self.clock()
        for sid in [sid for sid, s in self._open.items() if s.expires <= now]:
            del self._open[sid]


class LoginThrottle:
    """Wrong tokens per client address within a sliding window; `retry_after` says how long one is refused.
    At most `max_addresses` addresses are tracked (the least recently failing are forgotten first)."""

    def __init__(self, max_failures: int, window_s: float = 60.0, max_addresses: int = 10_000,
                 clock: Callable[[], float] = time.monotonic):
        if max_failures < 1 or window_s <= 0:
            raise ValueError("the login attempt limit needs max_failures >= 1 and window_s > 0")
        self.max_failures, self.window_s, self.max_addresses, self.clock = max_failures, window_s, max_addresses, clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def failed(self, address: str) -> None:
        with self._lock:
            times = self._recent(address) or deque()
            times.append(self.clock())
            while len(times) > self.max_failures:  # only the last max_failures decide when it ends
                times.popleft()
            self._failures[address] = times
            self._failures.move_to_end(address)
            while len(self._failures) > self.max_addresses:
                self._failures.popitem(last=False)

    def retry_after(self, address: str) -> int | None:
        """Whole seconds until `address` may try a token again, or None when it may now."""
        with self._lock:
            times = self._recent(address)
            if times is None or len(times) < self.max_failures:
                return None
            return max(1, math.ceil(times[0] + self.window_s - self.clock()))

    def _recent(self, address: str) -> deque[float] | None:
        times = self._failures.get(address)
        if times is None:
            return None
        cutoff = self.clock() - self.window_s
        while times and times[0] <= cutoff:
            times.popleft()
        if not times:
            del self._failures[address]
            return None
        return times


__all__ = ["LoginThrottle", "Session", "Sessions"]
