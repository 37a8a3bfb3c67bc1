"""Decode a video with PyAV and sample frames the way every path (scoring, training, benchmarks) must.

The policy: frames at `fps` (2 by default, the paper's setting), at most `max_frames` (spread evenly
when the clip is longer), resized to `size` x `size`, an even count (Qwen2.5-VL's temporal patch is 2
frames). The fps the frames were actually sampled at travels with them, because the processor turns it
into the temporal M-RoPE positions and assumes 24 fps when it is not told.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fingereval.errors import VideoError

VIDEO_SUFFIXES = (".mp4", ".webm", ".mov", ".avi", ".gif", ".mkv", ".m4v")


@dataclass(frozen=True)
class VideoConfig:
    fps: float = 2.0
    max_frames: int = 32
    size: int = 448

    def __post_init__(self):
        if self.fps <= 0 or self.max_frames < 2 or self.size < 28:
            raise ValueError(f"bad video config {self}: need fps > 0, max_frames >= 2, size >= 28")


@dataclass(frozen=True)
class VideoClip:
    path: str
    frames: np.ndarray  # (T, H, W, 3) uint8, T even
    fps: float  # the rate the frames were sampled at, handed to the processor as metadata
    duration: float  # seconds of source video covered

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])


def _decode_all(path: Path, size: int) -> tuple[list[np.ndarray], list[float], float]:
    import av  # imported here so that `fingereval --help` stays fast

    try:
        container = av.open(str(path))
    except av.error.FileNotFoundError:
        raise VideoError(f"{path}: file not found; check the path") from None
    except (av.error.InvalidDataError, av.error.FFmpegError, UnicodeDecodeError) as e:
        raise VideoError(f"{path}: not a readable video ({e.__class__.__name__}); re-encode it as mp4 (H.264)") from None
    frames: list[np.ndarray] = []
    times: list[float] = []
    with container:
        if not container.streams.video:
            raise VideoError(f"{path}: has no video stream; give a video file, not audio or an image")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        try:
            for frame in container.decode(stream):
                t = float(frame.pts * stream.time_base) if frame.pts is not None else len(times) / float(stream.average_rate or 25)
                frames.append(frame.to_ndarray(format="rgb24", width=size, height=size))
                times.append(t)
        except (av.error.InvalidDataError, av.error.FFmpegError) as e:
            if not frames:
                raise VideoError(f"{path}: cannot decode any frame ({e.__class__.__name__}); the file may be truncated") from None
            # a truncated tail: keep the frames decoded so far
    if not frames:
        raise VideoError(f"{path}: contains no frames; the file may be truncated or empty")
    start = times[0]
    times = [t - start for t in times]
    step = times[-1] / (len(times) - 1) if len(times) > 1 else 1.0 / 25
    return frames, times, times[-1] + step


def load_video(path: str | Path, config: VideoConfig = VideoConfig()) -> VideoClip:
    """Decode `path` and sample it by `config`. Raises VideoError with a one-line reason."""
    p = Path(path)
    if not p.exists():
        raise VideoError(f"{p}: file not found; check the path")
    if p.is_dir():
        raise VideoError(f"{p}: is a folder, not a video file")
    if p.stat().st_size == 0:
        raise VideoError(f"{p}: file is empty (0 bytes); regenerate or re-download it")
    frames, times, duration = _decode_all(p, config.size)
    n_target = max(2, int(round(duration * config.fps)))
    n = min(n_target, config.max_frames)
    # sample at evenly spaced instants; nearest decoded frame at or before each instant
    instants = (np.arange(n) + 0.5) * (duration / n)
    idx = np.clip(np.searchsorted(np.asarray(times), instants, side="right") - 1, 0, len(frames) - 1)
    picked = np.stack([frames[i] for i in idx])
    if picked.shape[0] % 2:  # the temporal patch is 2 frames
        picked = np.concatenate([picked, picked[-1:]], axis=0)
    return VideoClip(path=str(p), frames=picked, fps=n / duration, duration=duration)
