"""A strip of small JPEG frames per video, for the report: decoded by fingereval.video, encoded by Pillow.

The frames are sampled evenly across the clip (the scoring sampler with a frame budget of `count`), resized
to `width` pixels wide with the source's aspect ratio, and kept as `data:` URIs so the page needs no files.
An image-to-video result's conditioning image is shown beside them (`image_thumbnail`), opened through
fingereval.image's gate and checked against the hash the result recorded.
"""
from __future__ import annotations

import base64
import io
import stat
from dataclasses import dataclass
from pathlib import Path

from fingereval.errors import VideoError
from fingereval.image import ImageError, load_image
from fingereval.video import VideoConfig, load_video

SAMPLE_ALL = 1000.0  # an fps above any real one, so the frame budget alone decides how many frames are taken


@dataclass(frozen=True)
class Frame:
    t: float  # seconds from the start of the clip
    src: str  # data:image/jpeg;base64,...


def _source_size(path: Path) -> tuple[int, int] | None:
    """(width, height) of the video stream, or None when the file will not open (load_video then explains).

    Opened by the decoder's own `_open`, never by PyAV directly, so that every check of what a video may be
    (docs/report.md) applies to the report as to scoring; keep_aspect decoding would say the ratio only to
    within the 28-pixel rounding, and pays for importing transformers."""
    from fingereval.video import _open

    try:
        found = path.stat()
    except OSError:  # not there, a loop of links, a name too long: load_video says which
        return None
    if not stat.S_ISREG(found.st_mode) or found.st_size == 0:
        return None
    try:
        container, stream = _open(path)
    except VideoError:
        return None
    with container:
        return (stream.width, stream.height) if stream.width and stream.height else None


def _jpeg_uri(pixels, size: tuple[int, int], quality: int) -> str:
    from PIL import Image

    image = Image.fromarray(pixels).resize(size, Image.Resampling.BILINEAR)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def frame_strip(path: str | Path, count: int = 6, width: int = 160, quality: int = 70) -> list[Frame]:
    """`count` frames of the video at `path`, evenly spaced, as JPEG data URIs. Raises VideoError."""
    path = Path(path)
    source = _source_size(path)
    height = max(1, round(width * source[1] / source[0])) if source else width
    sampled = max(2, count)  # the sampler takes at least two frames
    clip = load_video(path, VideoConfig(fps=SAMPLE_ALL, max_frames=sampled, size=max(28, width, height)))
    # the sampler's instants: the middle of each of `sampled` equal spans (see fingereval.video._select)
    return [Frame(t=(k + 0.5) * clip.duration / sampled, src=_jpeg_uri(clip.frames[k], (width, height), quality))
            for k in range(min(count, clip.num_frames))]


def image_thumbnail(path: str | Path, sha256: str | None = None, width: int = 160, quality: int = 70) -> str:
    """The conditioning image at `path` as a JPEG data URI `width` pixels wide (its aspect kept). Raises
    ImageError, also when its bytes are no longer those the result recorded (`sha256`)."""
    image = load_image(path)
    if sha256 is not None and image.sha256 != sha256:
        raise ImageError(f"{path}: not the image the video was scored with (its sha256 differs from the result's); "
                         "give --videos-root the folder that holds the original")
    height, source_width = image.pixels.shape[:2]
    return _jpeg_uri(image.pixels, (width, max(1, round(width * height / source_width))), quality)
