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

import io
import os
import stat
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fingereval.errors import VideoError
from fingereval.image import ConditioningImage
from fingereval.limits import InputLimits


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
    image: ConditioningImage | None = None  # image-to-video: the image the clip was generated from (seen first)

    @property
    def seconds_decoded(self) -> float:
        return self.duration  # the span the frames cover; short of the file's own length when truncated

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])


# The containers a video generator writes, by the name FFmpeg's probe gives their demuxer. Each holds its media
# inside the file; a format that refers to other files or URLs (HLS/DASH playlists, concat scripts, image
# sequences, ...) is never on it, so a file cannot make the decoder read anything but itself.
ALLOWED_CONTAINERS = {"mov,mp4,m4a,3gp,3g2,mj2": "mp4/mov", "matroska,webm": "webm/mkv", "avi": "avi", "gif": "gif",
                      "mpegts": "mpeg-ts"}
# FFmpeg refuses any other demuxer before it reads a header (format_whitelist), and every nested open
# (protocol_whitelist; io_open below refuses those FFmpeg would route through Python)
_OPEN_OPTIONS = {"format_whitelist": ",".join(ALLOWED_CONTAINERS), "protocol_whitelist": "none"}
_ALLOWED_TEXT = ", ".join(ALLOWED_CONTAINERS.values())
_AUDIO = {"wav", "mp3", "flac", "aac", "ogg", "w64", "aiff", "au", "amr", "ac3", "eac3", "opus", "caf", "ape", "wv"}
_LOG_LOCK = threading.Lock()
MAX_FRAME_PIXELS = 7680 * 4320  # 8K UHD: the largest frame a generator writes, with room to spare
_READ_SIZE = 1 << 18  # bytes per read FFmpeg asks of the Python reader: fewer calls into Python per file


class VideoFormatError(VideoError):
    """The file is not a container fingereval reads: another format, or one that refers to other files."""


class _NestedOpen(Exception):
    """The demuxer asked to open another file or URL than the one given."""


def _refuse_nested(url: str, flags: int, options: dict):
    raise _NestedOpen(url)


class _Bytes:
    """The file's bytes for FFmpeg, without its name: PyAV hands a file object's `name` to FFmpeg, whose probe
    scores the name's extension (and reads an `.m3u8` as a playlist), so a nameless reader leaves the
    decision to the bytes alone."""

    def __init__(self, path: Path):
        try:  # O_NONBLOCK: opening a FIFO returns at once (and is refused below) instead of waiting for a writer
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except FileNotFoundError:
            raise VideoError(f"{path}: file not found; check the path") from None
        except OSError as e:  # permissions, a symlink loop, a name too long, ...
            raise VideoError(f"{path}: cannot be opened ({e.strerror or e.__class__.__name__}); check the path and "
                             "its permissions") from None
        info = os.fstat(fd)  # of what was opened, so nothing can be swapped in between
        problem = ("is a folder, not a video file" if stat.S_ISDIR(info.st_mode) else
                   "is not a regular file (a device, FIFO or socket); give a video file" if not stat.S_ISREG(info.st_mode)
                   else "file is empty (0 bytes); regenerate or re-download it" if info.st_size == 0 else None)
        if problem:
            os.close(fd)
            raise VideoError(f"{path}: {problem}")
        self._file = io.FileIO(fd, "rb", closefd=True)

    def read(self, size: int) -> bytes:
        return self._file.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._file.seek(offset, whence)

    def tell(self) -> int:
        return self._file.tell()

    def close(self) -> None:
        self._file.close()


def _open_container(path: Path):
    """The container, opened from the file's bytes through the allow-list; VideoError / VideoFormatError."""
    import av  # imported here so that `fingereval --help` stays fast

    data = _Bytes(path)
    try:
        return av.open(data, container_options=_OPEN_OPTIONS, io_open=_refuse_nested, buffer_size=_READ_SIZE)
    except _NestedOpen:
        data.close()
        raise VideoFormatError(f"{path}: not a video container fingereval reads (a playlist or file list that "
                               "refers to other files was found); give the video file itself") from None
    except av.error.ArgumentError:  # EINVAL: FFmpeg's probe found a format the allow-list refuses
        data.close()
        found = _format_found(path)
        if found in _AUDIO or (found or "").endswith("_pipe"):  # FFmpeg's single-image demuxers are "<codec>_pipe"
            raise VideoFormatError(f"{path}: has no video stream ({found} found); give a video file, not audio or "
                                   "an image") from None
        raise VideoFormatError(f"{path}: not a video container fingereval reads ({found or 'another format'} found; "
                               f"it reads {_ALLOWED_TEXT}); re-encode it as mp4 (H.264)") from None
    except (av.error.FFmpegError, UnicodeDecodeError) as e:
        data.close()
        found = _text_found(path)
        if found == _PLAYLIST:
            raise VideoFormatError(f"{path}: not a readable video ({found} found); give the video file itself, "
                                   "as mp4 (H.264)") from None
        raise VideoError(f"{path}: not a readable video ({found or e.__class__.__name__}"
                         f"{' found' if found else ''}); re-encode it as mp4 (H.264)") from None


_PLAYLIST = "an HLS playlist (m3u8)"


def _text_found(path: Path) -> str | None:
    """What a file FFmpeg found no format in holds, when it is text: FFmpeg detects a playlist only by its file
    name, which the gate never gives it, so the bytes are looked at here to name it in the message."""
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError:
        return None
    if head.lstrip(b"\xef\xbb\xbf").startswith(b"#EXTM3U"):
        return _PLAYLIST
    if b"\0" in head:
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return "a text file"


def _format_found(path: Path) -> str | None:
    """The demuxer FFmpeg's probe picked for a refused file. FFmpeg names it only in the log line of its
    refusal ("[hls] Format not on whitelist"), so that line is captured, from this thread, for this one open."""
    import av
    import av.logging

    with _LOG_LOCK:
        level, skip = av.logging.get_level(), av.logging.get_skip_repeated()
        av.logging.set_level(av.logging.ERROR)
        av.logging.set_skip_repeated(False)  # else the same refusal twice in a row is held back as a repeat
        try:
            with av.logging.Capture() as logs:
                data = _Bytes(path)
                try:
                    av.open(data, container_options=_OPEN_OPTIONS, io_open=_refuse_nested).close()
                except (av.error.FFmpegError, _NestedOpen):
                    pass
                finally:
                    data.close()
        finally:
            av.logging.set_level(level)
            av.logging.set_skip_repeated(skip)
    return next((name for _, name, message in logs if "not on whitelist" in message), None)


def check_video_container(path: str | Path) -> str:
    """The one gate every video passes before it is decoded (scoring, batches, Ray, the service, the annotation
    app, the report): a regular, non-empty file whose bytes FFmpeg probes as one of ALLOWED_CONTAINERS, whatever
    its name says. Returns the container's format name; raises VideoFormatError (another format, a playlist)
    or VideoError (missing, empty, not a file, unreadable), each with a one-line reason naming the file."""
    container = _open_container(Path(path))
    with container:
        return container.format.name


def _open(path: Path):
    container = _open_container(path)
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path}: has no video stream; give a video file, not audio or an image")
    stream = container.streams.video[0]
    try:
        _check_frame_size(path, stream.codec_context.width, stream.codec_context.height)
    except VideoError:
        container.close()
        raise
    return container, stream


def _check_frame_size(path: Path, width: int, height: int) -> None:
    # a few bytes can declare frames of gigabytes (and the decoder's threads each hold some): refused up front
    if width * height > MAX_FRAME_PIXELS:
        raise VideoError(f"{path}: its {width}x{height} frames are larger than 8K UHD ({MAX_FRAME_PIXELS} pixels); "
                         "downscale it")


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
    packets: int = 0  # video packets demuxed: the frames a decode pass will produce
    frame_pixels: int = 0  # width x height the stream declares (checked against the 8K cap on opening)

    @property
    def seconds(self) -> float | None:
        """The span the packets cover (the header's length when they carry no times)."""
        if self.times:
            return self.times[-1] - self.times[0]
        return self.declared_seconds


def _scan(path: Path) -> _Scan:
    """Demux without decoding: the timestamps the decoded frames will carry, at a fraction of the cost."""
    import av

    container, stream = _open(path)
    times: list[float] = []
    damaged = no_pts = False
    packets = 0
    with container:
        try:
            for packet in container.demux(stream):
                if packet.size == 0:  # the empty packet that flushes the decoder
                    continue
                packets += 1
                damaged |= bool(packet.is_corrupt)
                if packet.pts is None:
                    no_pts = True
                else:
                    times.append(float(packet.pts * stream.time_base))
        except av.error.FFmpegError:  # InvalidDataError included
            damaged = True
        return _Scan(None if no_pts else sorted(times), damaged, _declared_seconds(container, stream),
                     int(stream.frames or 0), packets, stream.codec_context.width * stream.codec_context.height)


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
                    _check_frame_size(path, frame.width, frame.height)
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


def check_video(path: str | Path, limits: InputLimits | None = None) -> None:
    """The file is a video container (check_video_container) with a video stream, without decoding a frame: the
    check that runs before a model loads; with `limits`, its length is also checked against their caps (one
    demux pass, still no decoding). Raises VideoError with a one-line reason (LimitExceeded for a cap)."""
    p = Path(path)
    container, _ = _open(p)
    container.close()
    if limits is not None and (limits.max_video_seconds or limits.max_video_frames or limits.max_video_pixels):
        scan = _scan(p)
        limits.check_video_length(p, scan.seconds, scan.packets, scan.frame_pixels)


def load_video(path: str | Path, config: VideoConfig = VideoConfig(), limits: InputLimits | None = None) -> VideoClip:
    """Decode `path` and sample it by `config`. Raises VideoError with a one-line reason; with `limits`, a video
    longer than their caps is refused (LimitExceeded) after the demux pass, before any frame is decoded."""
    p = Path(path)
    scan = _scan(p)
    if limits is not None:
        limits.check_video_length(p, scan.seconds, scan.packets, scan.frame_pixels)
    wanted: set[int] = set()
    if scan.times:  # a well-formed stream decodes to exactly these times, in this order
        wanted = set(_select([t - scan.times[0] for t in scan.times], config)[0].tolist())
    cap = limits.max_video_frames if limits is not None else None
    times, kept, broke = _decode(p, config, wanted, stop_after=None if cap is None else cap - 1)
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
