"""The conditioning image of an image-to-video clip: opened through one gate, checked before it is decoded.

Untrusted like a video: the file is opened without following it anywhere (a regular, non-empty file, read by its
bytes), Pillow may only try the formats an image generator or a camera writes (`ALLOWED_IMAGE_FORMATS`, decided by
the bytes, never by the file name), and the pixel count the header declares is checked against
`MAX_IMAGE_PIXELS` before a pixel is decoded (a few hundred bytes can declare gigapixels). The decoded image is
resized as the video's frames are (`VideoConfig.frame_shape`), so the model sees it at the frames' size and a
huge photo costs no more tokens than one frame. Its content hash (sha256 of the file's bytes) goes into the
result, so a report or a rerun can tell which image a score was given (docs/rubric.md, "Image-to-video").
"""
from __future__ import annotations

import hashlib
import io
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fingereval.errors import VideoError

# Pillow's names for the formats it may try; any other (EPS runs Ghostscript, a PDF, a TIFF with odd codecs,
# ...) is refused before its decoder sees the bytes.
ALLOWED_IMAGE_FORMATS = ("PNG", "JPEG", "WEBP")
_ALLOWED_TEXT = "PNG, JPEG or WebP"
MAX_IMAGE_PIXELS = 7680 * 4320  # 8K UHD, as for a video's frames (fingereval.video.MAX_FRAME_PIXELS)
MAX_IMAGE_BYTES = 64 * 1024 * 1024  # a larger file is no generator's conditioning image


class ImageError(VideoError):
    """The conditioning image is missing, unreadable, not an image fingereval reads, or too large."""


@dataclass(frozen=True)
class ConditioningImage:
    """The image a video was generated from, decoded and resized as the video's frames are."""

    path: str  # as given: the result records it as it records the video's path
    pixels: np.ndarray  # (H, W, 3) uint8
    sha256: str  # of the file's bytes: which image the score was given

    def record(self, path: str | None = None) -> dict:
        """What a result keeps of it (ImageRecord): the path (or the name a client gave it) and the hash."""
        return {"path": self.path if path is None else path, "sha256": self.sha256}


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, opened as fingereval.video opens a video: no FIFO wait, a regular non-empty file only."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ImageError(f"{path}: image file not found; check the path") from None
    except (OSError, ValueError) as e:  # permissions, a symlink loop, a name too long, a NUL byte
        raise ImageError(f"{path}: the image cannot be opened ({getattr(e, 'strerror', None) or type(e).__name__}); "
                         "check the path and its permissions") from None
    info = os.fstat(fd)  # of what was opened, so nothing can be swapped in between
    problem = ("is a folder, not an image file" if stat.S_ISDIR(info.st_mode) else
               "is not a regular file (a device, FIFO or socket); give an image file" if not stat.S_ISREG(info.st_mode)
               else "image file is empty (0 bytes)" if info.st_size == 0 else
               f"the image file has {info.st_size} bytes, more than 64 MiB; give a smaller image"
               if info.st_size > MAX_IMAGE_BYTES else None)
    if problem:
        os.close(fd)
        raise ImageError(f"{path}: {problem}")
    with io.FileIO(fd, "rb", closefd=True) as f:
        return f.read(MAX_IMAGE_BYTES + 1)


def _open(path: Path, data: bytes):
    """Pillow's lazy image (header read, no pixels) of an allowed format within the pixel cap."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data), formats=list(ALLOWED_IMAGE_FORMATS))
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image fingereval reads (it reads {_ALLOWED_TEXT}); "
                         "convert it to PNG") from None
    except Image.DecompressionBombError:  # Pillow's own cap, far above ours: the same answer
        raise ImageError(f"{path}: the image declares more pixels than 8K UHD ({MAX_IMAGE_PIXELS}); "
                         "downscale it") from None
    except (OSError, ValueError, SyntaxError) as e:  # a header Pillow cannot parse
        raise ImageError(f"{path}: not a readable image ({type(e).__name__}); re-save it as PNG") from None
    width, height = image.size
    if width * height > MAX_IMAGE_PIXELS:
        raise ImageError(f"{path}: the image is {width}x{height}, more pixels than 8K UHD ({MAX_IMAGE_PIXELS}); "
                         "downscale it")
    if width < 1 or height < 1:
        raise ImageError(f"{path}: the image has no pixels ({width}x{height})")
    return image


IMAGE_MEDIA_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}


def read_image_file(path: str | Path) -> tuple[bytes, str]:
    """The image file's bytes and media type, checked as check_image checks it (for a page that shows the image:
    the annotation app). Raises ImageError with a one-line reason."""
    p = Path(path)
    data = _read_bytes(p)
    return data, IMAGE_MEDIA_TYPES[_open(p, data).format]


def check_image(path: str | Path) -> None:
    """The image opens, is of an allowed format and within the pixel cap, without decoding its pixels (the check
    before a model loads, or before a request is queued). Raises ImageError with a one-line reason."""
    p = Path(path)
    _open(p, _read_bytes(p))


def load_image(path: str | Path, frame_shape=None) -> ConditioningImage:
    """Decode the image at `path` to RGB, resized to `frame_shape(height, width)` -> (height, width) when given
    (`VideoConfig.frame_shape`: the size the video's frames get). Raises ImageError with a one-line reason."""
    from PIL import Image

    p = Path(path)
    data = _read_bytes(p)
    image = _open(p, data)
    try:
        image.seek(0)  # an animated WebP or PNG: its first frame
        rgb = image.convert("RGB")  # palette, grey, alpha, CMYK: all to RGB (alpha is dropped)
        if frame_shape is not None:
            height, width = frame_shape(rgb.height, rgb.width)
            rgb = rgb.resize((int(width), int(height)), Image.Resampling.BICUBIC)
        pixels = np.asarray(rgb, dtype=np.uint8).copy()
    except (OSError, ValueError, SyntaxError, EOFError) as e:  # truncated or damaged pixel data
        raise ImageError(f"{p}: the image cannot be decoded ({type(e).__name__}: {' '.join(str(e).split())[:80]}); "
                         "re-save it as PNG") from None
    return ConditioningImage(path=str(path), pixels=pixels, sha256=hashlib.sha256(data).hexdigest())
