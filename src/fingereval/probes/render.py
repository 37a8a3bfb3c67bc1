"""Draw a planned probe into frames and encode them as mp4 with PyAV.

Shapes are drawn with PIL at 4x and box-downsampled (clean anti-aliased edges), blurred with PIL's
GaussianBlur, and composited with numpy; a frame is 112x112 by default, so this is cheap.
"""
from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from fingereval.probes.world import BACKGROUND, COLOURS, SLOT_SECONDS, ProbeEntity, ProbeSpec

SUPERSAMPLE = 4


def _outline(shape: str, r: float) -> list[tuple[float, float]] | None:
    """Polygon around the origin with outer radius about r; None for the ball (an ellipse)."""
    if shape == "ball":
        return None
    if shape == "square":
        h = 0.85 * r  # about the ball's area
        return [(-h, -h), (h, -h), (h, h), (-h, h)]
    if shape == "triangle":
        return [(1.1 * r * math.cos(a), 1.1 * r * math.sin(a)) for a in np.radians([-90, 30, 150])]
    if shape == "star":
        pts = []
        for j in range(10):
            radius = 1.2 * r if j % 2 == 0 else 0.5 * r
            a = math.radians(-90 + 36 * j)
            pts.append((radius * math.cos(a), radius * math.sin(a)))
        return pts
    raise ValueError(f"unknown shape {shape!r}")


def _alpha(shape: str, r: float, frac_x: float, frac_y: float, box: int, sigma: float) -> np.ndarray:
    """Coverage (box, box) float32 in [0, 1] of a shape centred at (box//2 + frac) in the box."""
    ss = SUPERSAMPLE
    image = Image.new("L", (box * ss, box * ss), 0)
    draw = ImageDraw.Draw(image)
    cx, cy = (box // 2 + frac_x) * ss, (box // 2 + frac_y) * ss
    outline = _outline(shape, r)
    if outline is None:
        draw.ellipse([cx - r * ss, cy - r * ss, cx + r * ss, cy + r * ss], fill=255)
    else:
        draw.polygon([(cx + x * ss, cy + y * ss) for x, y in outline], fill=255)
    image = image.reduce(ss)
    if sigma > 0:
        image = image.filter(ImageFilter.GaussianBlur(sigma))
    return np.asarray(image, dtype=np.float32) / 255.0


def shape_template(shape: str, radius: float, box: int) -> np.ndarray:
    """(box, box) bool mask of a sharp shape centred in the box: what a shape looks like, for checks."""
    return _alpha(shape, radius, 0.0, 0.0, box, 0.0) > 0.5


@lru_cache(maxsize=64)
def _noise_pattern(seed: int, box: int) -> np.ndarray:
    """A frozen grey noise texture that travels with its entity (a still video stays still)."""
    return np.random.default_rng(seed).standard_normal((box, box)).astype(np.float32)


def _box_size(r: float, sigma: float) -> int:
    return 2 * int(math.ceil(1.25 * r + 3 * sigma + 3)) + 1


def _draw_entity(frame: np.ndarray, e: ProbeEntity, colour: str, shape: str, cx: float, cy: float, r: float) -> None:
    box = _box_size(r, e.blur_sigma)
    ix, iy = int(math.floor(cx)), int(math.floor(cy))
    alpha = _alpha(shape, r, cx - ix, cy - iy, box, e.blur_sigma)
    layer = np.broadcast_to(np.asarray(COLOURS[colour], dtype=np.float32), (box, box, 3))
    if e.quality == "noise":
        layer = np.clip(layer + e.noise_std * _noise_pattern(e.noise_seed, box)[..., None], 0, 255)
    # paste the box at its place in the frame, clipped at the borders
    h, w = frame.shape[:2]
    top, left = iy - box // 2, ix - box // 2
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + box, h), min(left + box, w)
    if y0 >= y1 or x0 >= x1:
        return
    a = alpha[y0 - top:y1 - top, x0 - left:x1 - left, None]
    region = frame[y0:y1, x0:x1]
    region[:] = region * (1 - a) + layer[y0 - top:y1 - top, x0 - left:x1 - left] * a


def render_frames(spec: ProbeSpec) -> np.ndarray:
    """(n_frames, size, size, 3) uint8 frames of the planned probe."""
    frames = np.empty((spec.n_frames, spec.size, spec.size, 3), dtype=np.uint8)
    background = np.asarray(BACKGROUND, dtype=np.float32)
    for i in range(spec.n_frames):
        t = i / spec.fps
        slot = int(math.floor(t / SLOT_SECONDS + 1e-9))
        frame = np.empty((spec.size, spec.size, 3), dtype=np.float32)
        frame[:] = background
        for e in spec.entities:
            look = e.look(slot)
            if look is None:
                continue
            cx, cy = e.centre(t, spec.seconds)
            _draw_entity(frame, e, look[0], look[1], float(cx), float(cy), spec.radius)
        frames[i] = np.clip(np.rint(frame), 0, 255).astype(np.uint8)
    return frames


def pick_codec() -> str:
    """libx264 where this PyAV build has it, else mpeg4 (always built in)."""
    import av

    return "libx264" if "libx264" in av.codecs_available else "mpeg4"


def write_mp4(path: str | Path, frames: np.ndarray, fps: int, codec: str | None = None) -> Path:
    """Encode uint8 RGB frames (T, H, W, 3), H and W even, at high quality so colours stay clean."""
    import av

    codec = codec or pick_codec()
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    height, width = frames.shape[1:3]
    with av.open(str(p), mode="w", format="mp4") as container:
        stream = container.add_stream(codec, rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        if codec == "libx264":
            stream.options = {"crf": "10", "preset": "veryfast", "threads": "1"}
        else:  # mpeg4: a bit rate far above what 112x112 needs pins the quantiser near its best
            stream.bit_rate = 8_000_000
            stream.codec_context.thread_count = 1
        for array in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return p
