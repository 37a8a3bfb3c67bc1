"""Shared fixtures: a tiny random Qwen2.5-VL checkpoint and real video files written with PyAV."""
from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # steadier on the 2-core CI machine

import numpy as np
import pytest

from browser import browser, page  # noqa: F401  (fixtures: Debian's chromium through Playwright)

SHARED = Path(__file__).resolve().parents[2] / "shared"


def write_video(path: Path, frames: int = 16, size: int = 112, fps: int = 8, codec: str = "mpeg4",
                colour=(220, 30, 30), moving: bool = True) -> Path:
    """A square of `colour` on a grey background, sliding right when `moving`."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = "gif" if path.suffix == ".gif" else None
    with av.open(str(path), "w", format=fmt) as c:
        s = c.add_stream(codec, rate=fps)
        s.width = s.height = size
        s.pix_fmt = "rgb8" if codec == "gif" else "yuv420p"
        for i in range(frames):
            f = np.full((size, size, 3), 40, np.uint8)
            x = 8 + (i * 4 if moving else 0)
            f[size // 3: size // 3 + 20, x:x + 20] = colour
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A tiny checkpoint whose outputs depend strongly on its inputs (larger init), for equality checks."""
    from fingereval.tiny.model import TinyShape, build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model", TinyShape(init_std=0.1), seed=0)


@pytest.fixture(scope="session")
def red_video(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("vid") / "red.mp4")


@pytest.fixture(scope="session")
def blue_static_video(tmp_path_factory) -> Path:
    return write_video(tmp_path_factory.mktemp("vid") / "blue.mp4", colour=(30, 30, 220), moving=False)


def probe_world(root: Path, n: int, seed: int) -> tuple[Path, Path, Path]:
    """(root, a split probe set of n one-shape videos, a probe-shaped tiny checkpoint) for the tiny-world tests."""
    from fingereval.probes import make_probes, split_probes
    from fingereval.tiny.model import PROBE_SHAPE, build_tiny_model

    probes = make_probes(root / "probes", n, seed=seed, max_entities=1, radius=0.2)
    split_probes(probes.root, held_out=0.25, seed=0)
    return root, probes.root, build_tiny_model(root / "base", PROBE_SHAPE, seed=0)


@contextlib.contextmanager
def time_limit(seconds: int, what: str):
    """A hang fails the test after `seconds` (SIGALRM) instead of hanging the suite."""
    def stop(*_):
        raise TimeoutError(f"{what} ran past {seconds} s")

    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
