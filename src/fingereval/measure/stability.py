"""What must not change a score, measured: the same video twice, re-encoded (frame rate, resolution, codec,
quality), and what must: the prompt. Any FingER-Instruct file and model.

Each video is answered with its own questions; a variant is the same frames re-encoded with PyAV, so any
change of score is the evaluator's, not the content's. The prompt swap scores each video with another
video's prompt and questions: text alignment must fall."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from fingereval.answer.base import Answerer
from fingereval.data.instruct import InstructRecord, group_by_video, instruct_questions
from fingereval.errors import FingerEvalError
from fingereval.score.aggregate import video_result
from fingereval.video import load_video


@dataclass(frozen=True)
class Variant:
    name: str
    fps: float | None = None  # None: the source's
    scale: float = 1.0
    codec: str = "libx264"
    container: str = "mp4"
    quality: dict | None = None  # encoder options


VARIANTS: tuple[Variant, ...] = (
    Variant("24 fps", fps=24), Variant("30 fps", fps=30), Variant("half resolution", scale=0.5),
    Variant("double resolution", scale=2.0), Variant("VP9 (webm)", codec="libvpx-vp9", container="webm"),
    Variant("H.264 low quality (crf 32)", quality={"crf": "32"}),
)


def _frames(path: Path) -> tuple[list[np.ndarray], list[float], float]:
    """Every frame (RGB), its time in seconds, and the source rate."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        rate = float(stream.average_rate or 8)
        frames, times = [], []
        for frame in container.decode(stream):
            frames.append(frame.to_ndarray(format="rgb24"))
            times.append(float(frame.time) if frame.time is not None else len(times) / rate)
    start = times[0] if times else 0.0
    return frames, [t - start for t in times], rate


def reencode(src: Path, dst: Path, variant: Variant) -> Path:
    """The same content re-encoded: resampled in time (the frame shown at each new instant), resized, coded."""
    import av

    frames, times, rate = _frames(src)
    if not frames:
        raise FingerEvalError(f"{src}: no frames to re-encode")
    fps = variant.fps or rate
    duration = times[-1] + 1 / rate
    height, width = frames[0].shape[:2]
    out_w, out_h = (max(2, int(round(side * variant.scale / 2)) * 2) for side in (width, height))
    stream_rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(dst), mode="w", format=variant.container) as container:
        stream = container.add_stream(variant.codec, rate=stream_rate)
        stream.width, stream.height, stream.pix_fmt = out_w, out_h, "yuv420p"
        stream.options = {"threads": "1", **({"crf": "10"} if variant.codec == "libx264" else {}),
                          **(variant.quality or {})}
        for k in range(max(1, int(round(duration * fps)))):
            source = int(np.searchsorted(times, k / fps, side="right") - 1)  # the frame on screen at k / fps
            image = av.VideoFrame.from_ndarray(np.ascontiguousarray(frames[max(source, 0)]), format="rgb24")
            container.mux(stream.encode(image.reformat(width=out_w, height=out_h)))
        container.mux(stream.encode(None))
    return dst


def _score(answerer: Answerer, video: str | Path, records: Sequence[InstructRecord], prompt: str, reason: bool):
    clip = load_video(video, answerer.video_config)
    questions = instruct_questions(records)
    return video_result(str(video), prompt, questions, answerer.answer(clip, questions, reason=reason), reason=reason)


def _flips(a, b) -> int:
    return sum((x.p_yes >= 0.5) != (y.p_yes >= 0.5) for x, y in zip(a.questions, b.questions))


def stability_report(answerer: Answerer, records: Sequence[InstructRecord], work_dir: Path, max_videos: int = 8,
                     variants: Sequence[Variant] = VARIANTS, reason: bool = False,
                     on_video: Callable[[], None] = lambda: None) -> dict:
    groups = list(group_by_video(records).items())[:max_videos]
    if len(groups) < 2:
        raise FingerEvalError("the stability bench needs at least 2 videos (the prompt swap uses another video's)")
    work_dir.mkdir(parents=True, exist_ok=True)
    base, again, per_variant = [], [], {v.name: {"diffs": [], "flips": 0, "questions": 0, "failed": []} for v in variants}
    for i, (video, recs) in enumerate(groups):
        first = _score(answerer, video, recs, recs[0].prompt, reason)
        second = _score(answerer, video, recs, recs[0].prompt, reason)
        base.append(first)
        again.append(max(abs(x.p_yes - y.p_yes) for x, y in zip(first.questions, second.questions)))
        for v in variants:
            cell = per_variant[v.name]
            try:
                moved = reencode(Path(video), work_dir / f"{i:03d}-{v.name.split()[0]}.{v.container}", v)
                other = _score(answerer, moved, recs, recs[0].prompt, reason)
            except FingerEvalError as e:
                cell["failed"].append(f"{video}: {e}")
                continue
            cell["diffs"].append(abs(other.overall - first.overall))
            cell["flips"] += _flips(first, other)
            cell["questions"] += len(recs)
        on_video()
    own, swapped = [], []
    for i, (video, recs) in enumerate(groups):  # each video with the next video's prompt and questions
        other_recs = groups[(i + 1) % len(groups)][1]
        theirs = _score(answerer, video, other_recs, other_recs[0].prompt, reason).dimensions.get("text_alignment")
        if base[i].dimensions.get("text_alignment") is not None and theirs is not None:
            own.append(base[i].dimensions["text_alignment"])
            swapped.append(theirs)
    reencode_table = {name: {"overall_max_abs_diff": max(c["diffs"], default=None),
                             "overall_mean_abs_diff": float(np.mean(c["diffs"])) if c["diffs"] else None,
                             "answer_flips": c["flips"], "questions": c["questions"],
                             "flip_rate": c["flips"] / c["questions"] if c["questions"] else None, "failed": c["failed"]}
                      for name, c in per_variant.items()}
    diffs = [d for c in per_variant.values() for d in c["diffs"]]
    return {"videos": len(groups), "model": answerer.model_id, "mode": "reason" if reason else "direct",
            "determinism_max_abs_diff": float(max(again)),
            "reencode_max_abs_diff": float(max(diffs)) if diffs else None, "reencode": reencode_table,
            "prompt_swap_text_alignment_drop": float(np.mean(own) - np.mean(swapped)) if own else None,
            "prompt_swap": {"own_mean": float(np.mean(own)) if own else None,
                            "swapped_mean": float(np.mean(swapped)) if swapped else None, "videos": len(own)}}
