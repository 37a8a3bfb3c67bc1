"""Decode a video with PyAV and sample frames the way every path (scoring, training, benchmarks) must.

The policy: frames at `fps` (2 by default, the paper's setting), at most `max_frames` (spread evenly
when the clip is longer), resized to `size` x `size` (or, with `keep_aspect`, to multiples of 28 within
the same pixel budget, Qwen's own rule), an even count (Qwen2.5-VL's temporal patch is 2 frames). The fps
of the frames handed over travels with them, because the processor turns it into the temporal M-RoPE
positions and assumes 24 fps when it is not told.

Cost scales with what is sampled, not with the clip: one demux pass reads the frame timestamps without
decoding, the sampled frames are chosen from them, and the decode pass converts only those frames.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fingereval.errors import VideoError



@dataclass(frozen=True)
class VideoConfig:
    fps: float = 2.0
    max_frames: int = 32
    size: int = 448
    keep_aspect: bool = False  # False: size x size (the paper); True: keep the aspect within size*size pixels

    def __post_init__(self):
        if self.fps <= 0 or self.max_frames < 2 or self.size < 28:
            raise ValueError(f"bad video config {self}: need fps > 0, max_frames >= 2, size >= 28")

    @property
    def resize(self) -> str:
        return "keep_aspect" if self.keep_aspect else "square"

    def frame_shape(self, height: int, width: int) -> tuple[int, int]:
        """(height, width) the frames of a `height` x `width` source are resized to."""
        if not self.keep_aspect:
            return self.size, self.size
        from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize

        budget = self.size * self.size
        return smart_resize(height, width, factor=28, min_pixels=min(56 * 56, budget), max_pixels=budget)


@dataclass(frozen=True)
class VideoClip:
    path: str
    frames: np.ndarray  # (T, H, W, 3) uint8, T even
    fps: float  # T / duration, the padding frame included: the processor times the frames it is given by it
    duration: float  # seconds of source video covered
    resize: str = "square"  # the VideoConfig.resize policy the frames were made with
    truncated: bool = False  # the file ends early or is damaged: the frames cover only its decoded part

    @property
    def seconds_decoded(self) -> float:
        return self.duration  # the span the frames cover; short of the file's own length when truncated

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])


def _open(path: Path):
    import av  # imported here so that `fingereval --help` stays fast

    try:
        container = av.open(str(path))
    except av.error.FileNotFoundError:
        raise VideoError(f"{path}: file not found; check the path") from None
    except (av.error.InvalidDataError, av.error.FFmpegError, UnicodeDecodeError) as e:
        raise VideoError(f"{path}: not a readable video ({e.__class__.__name__}); re-encode it as mp4 (H.264)") from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path}: has no video stream; give a video file, not audio or an image")
    return container, container.streams.video[0]


def _declared_seconds(container, stream) -> float | None:
    """How long the file says its video lasts (its index or header), to tell a cut file from a short one."""
    if stream.duration:
        return float(stream.duration * stream.time_base)
    tag = stream.metadata.get("DURATION")  # Matroska/WebM keep the track length here, in the header
    if tag:
        try:
            h, m, sec = tag.split(":")
            return int(h) * 3600 + int(m) * 60 + float(sec)
        except ValueError:
            pass
    # whole-file length: may include a longer audio track, hence the tolerance where it is compared
    return container.duration / 1_000_000 if container.duration else None


@dataclass
class _Scan:
    times: list[float] | None  # packet presentation times, sorted; None when a packet has none
    damaged: bool  # a demux error or a packet flagged corrupt (a cut file)
    declared_seconds: float | None
    declared_frames: int  # 0 when the container does not say


def _scan(path: Path) -> _Scan:
    """Demux without decoding: the timestamps the decoded frames will carry, at a fraction of the cost."""
    import av

    container, stream = _open(path)
    times: list[float] = []
    damaged = no_pts = False
    with container:
        try:
            for packet in container.demux(stream):
                if packet.size == 0:  # the empty packet that flushes the decoder
                    continue
                damaged |= bool(packet.is_corrupt)
                if packet.pts is None:
                    no_pts = True
                else:
                    times.append(float(packet.pts * stream.time_base))
        except av.error.FFmpegError:  # InvalidDataError included
            damaged = True
        return _Scan(None if no_pts else sorted(times), damaged, _declared_seconds(container, stream),
                     int(stream.frames or 0))


def _to_rgb(frame, height: int, width: int) -> np.ndarray:
    # the one place a frame is converted (the costly step), so tests can count that only sampled frames get here
    return frame.to_ndarray(format="rgb24", width=width, height=height)


def _decode(path: Path, config: VideoConfig, wanted: set[int], stop_after: int | None = None):
    """Decode in order, converting only the frames whose output index is in `wanted`.

    Returns (times of every decoded frame, {index: frame array}, the error decoding stopped on or None)."""
    import av

    container, stream = _open(path)
    times: list[float] = []
    kept: dict[int, np.ndarray] = {}
    broke = None
    shape = None
    with container:
        stream.thread_type = "AUTO"
        rate = float(stream.average_rate or 25)
        try:
            for frame in container.decode(stream):
                i = len(times)
                times.append(float(frame.pts * stream.time_base) if frame.pts is not None else i / rate)
                if shape is None:  # from the first frame, so every pass and every frame agree
                    try:
                        shape = config.frame_shape(frame.height, frame.width)
                    except ValueError as e:  # smart_resize refuses aspect ratios beyond 200
                        size = f"{frame.width}x{frame.height}"
                        raise VideoError(f"{path}: cannot resize its {size} frames ({e})") from None
                if i in wanted:
                    kept[i] = _to_rgb(frame, *shape)
                if stop_after is not None and i >= stop_after:
                    break
        except av.error.FFmpegError as e:
            broke = e.__class__.__name__  # a truncated or damaged tail: what was decoded so far stands
    return times, kept, broke


def _select(times: list[float], config: VideoConfig) -> tuple[np.ndarray, float]:
    """Indices of the sampled frames and the duration, from frame times relative to the first frame."""
    step = times[-1] / (len(times) - 1) if len(times) > 1 else 1.0 / 25
    duration = times[-1] + step
    n = min(max(2, int(round(duration * config.fps))), config.max_frames)
    # sample at evenly spaced instants; nearest frame at or before each instant
    instants = (np.arange(n) + 0.5) * (duration / n)
    idx = np.clip(np.searchsorted(np.asarray(times), instants, side="right") - 1, 0, len(times) - 1)
    return idx, duration


def _check_file(p: Path) -> None:
    if not p.exists():
        raise VideoError(f"{p}: file not found; check the path")
    if p.is_dir():
        raise VideoError(f"{p}: is a folder, not a video file")
    if p.stat().st_size == 0:
        raise VideoError(f"{p}: file is empty (0 bytes); regenerate or re-download it")


def check_video(path: str | Path) -> None:
    """The file exists, is not empty and opens as a container with a video stream, without decoding a frame:
    the check that runs before a model loads. Raises VideoError with a one-line reason."""
    p = Path(path)
    _check_file(p)
    container, _ = _open(p)
    container.close()


def load_video(path: str | Path, config: VideoConfig = VideoConfig()) -> VideoClip:
    """Decode `path` and sample it by `config`. Raises VideoError with a one-line reason."""
    p = Path(path)
    _check_file(p)
    scan = _scan(p)
    wanted: set[int] = set()
    if scan.times:  # a well-formed stream decodes to exactly these times, in this order
        wanted = set(_select([t - scan.times[0] for t in scan.times], config)[0].tolist())
    times, kept, broke = _decode(p, config, wanted)
    if not times:
        if broke:
            raise VideoError(f"{p}: cannot decode any frame ({broke}); the file may be truncated")
        raise VideoError(f"{p}: contains no frames; the file may be truncated or empty")
    times = [t - times[0] for t in times]
    idx, duration = _select(times, config)
    if duration <= 0:
        raise VideoError(f"{p}: its frame timestamps do not advance; re-encode it")
    missing = set(idx.tolist()) - kept.keys()
    if missing:  # the decoder disagreed with the demuxer (a damaged tail, packets without times): fetch those
        kept.update(_decode(p, config, missing, stop_after=max(missing))[1])
        if not missing <= kept.keys():
            raise VideoError(f"{p}: decodes differently on a second read; re-encode it as mp4 (H.264)")
    picked = np.stack([kept[i] for i in idx.tolist()])
    if picked.shape[0] % 2:  # the temporal patch is 2 frames
        picked = np.concatenate([picked, picked[-1:]], axis=0)
    step = duration - times[-1]
    slack = max(0.5, 2 * step)  # timestamps and header lengths disagree by a frame or so on intact files
    short = scan.declared_seconds is not None and scan.declared_seconds - duration > slack
    short |= scan.declared_frames > 0 and (scan.declared_frames - len(times)) * step > slack
    return VideoClip(path=str(p), frames=picked, fps=picked.shape[0] / duration, duration=duration,
                     resize=config.resize, truncated=bool(broke) or scan.damaged or short)
