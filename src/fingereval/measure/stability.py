"""What must not change a score, measured: the same video twice, re-encoded (frame rate, resolution, codec,
quality), and what must: the prompt. Any FingER-Instruct file and model.

Each video is answered with its own questions; a variant is the same frames re-encoded with PyAV, so any
change of score is the evaluator's, not the content's. The prompt swap scores each video with another
video's prompt and questions: text alignment must fall.

A rubric (docs/rubric.md, default FingER's five) gives the overall's weights, the dimensions whose change is
reported one by one, and the dimension the prompt swap watches: the one its prompt questions go to
(`prompt_questions.dimension`, text_alignment in FingER's). A rubric without one: the swap is not measured, and
the report says why (docs/stability.md)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from fingereval.answer.base import Answerer
from fingereval.data.instruct import InstructRecord, group_by_video, instruct_questions
from fingereval.errors import FingerEvalError
from fingereval.rubric import Rubric, default_rubric
from fingereval.score.aggregate import video_result
from fingereval.video import load_video


# A re-encoding "moves" a video when its overall changes by more than this (docs/stability.md): one near-certain
# flip in a probe video of 3-4 questions moves it by 0.2-0.5, so the count of such videos is the figure to watch.
MOVE_TOLERANCE = 0.05


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


def _score(answerer: Answerer, video: str | Path, records: Sequence[InstructRecord], prompt: str, reason: bool,
           rubric: Rubric, clip=None):
    """One video's result (`clip`: the video decoded already; else it is decoded here)."""
    clip = clip if clip is not None else load_video(video, answerer.video_config)
    questions = instruct_questions(records)
    return video_result(str(video), prompt, questions, answerer.answer(clip, questions, reason=reason), reason=reason,
                        rubric=rubric)


def prompt_dimension(rubric: Rubric) -> str | None:
    """The dimension a prompt swap must lower: the one the rubric's prompt questions go to, else text_alignment
    when the rubric has it; None when it has neither."""
    target = rubric.prompt_questions.dimension
    return target if target is not None else ("text_alignment" if "text_alignment" in rubric.by_key else None)


def _dimension_diffs(a, b, keys: Sequence[str]) -> dict[str, float]:
    """|Δ| of each dimension both results scored (a dimension without questions on the video has no score)."""
    return {k: abs(a.dimensions[k] - b.dimensions[k]) for k in keys
            if a.dimensions.get(k) is not None and b.dimensions.get(k) is not None}


def _flipped(a, b) -> list[int]:
    """The questions (by position) whose answer differs between two results of one video's questions."""
    return [i for i, (x, y) in enumerate(zip(a.questions, b.questions)) if x.answer != y.answer]


def _count_flips(cell: dict, records: Sequence[InstructRecord], first, other) -> None:
    """Add the flips between `first` and `other` to a variant's cell: in all, per dimension, and how many moved to
    the file's answer: a re-encoding that blurs a video may rightly turn "are the edges sharp?" around, and
    which way the flips go tells a real change of content from an unstable evaluator (docs/stability.md)."""
    flipped = _flipped(first, other)
    cell["flips"] += len(flipped)
    for i in flipped:
        dimension = records[i].dimension
        cell["dim_flips"][dimension] = cell["dim_flips"].get(dimension, 0) + 1
        cell["flips_to_file_answer"] += other.questions[i].answer == records[i].answer


def stability_report(answerer: Answerer, records: Sequence[InstructRecord], work_dir: Path, max_videos: int = 8,
                     variants: Sequence[Variant] = VARIANTS, reason: bool = False,
                     on_video: Callable[[], None] = lambda: None, rubric: Rubric | None = None) -> dict:
    rubric = rubric or default_rubric()
    groups = list(group_by_video(records).items())[:max_videos]
    if len(groups) < 2:
        raise FingerEvalError("the stability bench needs at least 2 videos (the prompt swap uses another video's)")
    work_dir.mkdir(parents=True, exist_ok=True)
    again = []
    per_variant = {v.name: {"diffs": [], "flips": 0, "dim_flips": {}, "flips_to_file_answer": 0, "questions": 0,
                            "failed": [], "dims": {k: [] for k in rubric.keys}} for v in variants}
    swap_key = prompt_dimension(rubric)
    own, swapped, matching = [], [], []
    for i, (video, recs) in enumerate(groups):
        clip = load_video(video, answerer.video_config)  # once: the two runs and the prompt swap read it
        first = _score(answerer, video, recs, recs[0].prompt, reason, rubric, clip)
        second = _score(answerer, video, recs, recs[0].prompt, reason, rubric, clip)
        if swap_key is not None:  # this video with the next video's prompt and questions
            other_recs = groups[(i + 1) % len(groups)][1]
            theirs = _score(answerer, video, other_recs, other_recs[0].prompt, reason, rubric, clip).dimensions
            if first.dimensions.get(swap_key) is not None and theirs.get(swap_key) is not None:
                own.append(first.dimensions[swap_key])
                swapped.append(theirs[swap_key])
                matching.append(matches_prompt(recs, swap_key))
        again.append(max(abs(x.p_yes - y.p_yes) for x, y in zip(first.questions, second.questions)))
        for v in variants:
            cell = per_variant[v.name]
            try:
                moved = reencode(Path(video), work_dir / f"{i:03d}-{v.name.split()[0]}.{v.container}", v)
                other = _score(answerer, moved, recs, recs[0].prompt, reason, rubric)
            except FingerEvalError as e:
                cell["failed"].append(f"{video}: {e}")
                continue
            cell["diffs"].append(abs(other.overall - first.overall))
            for k, d in _dimension_diffs(first, other, rubric.keys).items():
                cell["dims"][k].append(d)
            _count_flips(cell, recs, first, other)
            cell["questions"] += len(recs)
        on_video()
    reencode_table = {name: _variant_row(c) for name, c in per_variant.items()}
    diffs = [d for c in per_variant.values() for d in c["diffs"]]
    swap = _prompt_swap(swap_key, own, swapped, rubric)
    if swap["dimension"] is not None:
        swap["matching"] = _swap_means([o for o, m in zip(own, matching) if m], [s for s, m in zip(swapped, matching) if m])
    return {"videos": len(groups), "model": answerer.model_id, "mode": "reason" if reason else "direct",
            "rubric": rubric.ref().model_dump(), "dimensions": list(rubric.keys),
            "determinism_max_abs_diff": float(max(again)),
            "reencode_max_abs_diff": float(max(diffs)) if diffs else None, "reencode": reencode_table,
            # the name older readers know: the drop of text_alignment, when that is the dimension the swap watches
            "prompt_swap_text_alignment_drop": swap["drop"] if swap["dimension"] == "text_alignment" else None,
            "prompt_swap": swap}


def _variant_row(cell: dict) -> dict:
    """A variant's line: the overall's largest and mean change, the videos it moved by more than MOVE_TOLERANCE,
    each dimension's largest change, the answers flipped."""
    return {"overall_max_abs_diff": max(cell["diffs"], default=None),
            "overall_mean_abs_diff": float(np.mean(cell["diffs"])) if cell["diffs"] else None,
            "videos_moved": sum(d > MOVE_TOLERANCE for d in cell["diffs"]), "videos_compared": len(cell["diffs"]),
            "move_tolerance": MOVE_TOLERANCE,
            "dimension_max_abs_diff": {k: max(v, default=None) for k, v in cell["dims"].items()},
            "answer_flips": cell["flips"], "questions": cell["questions"],
            "flip_rate": cell["flips"] / cell["questions"] if cell["questions"] else None,
            "flips_per_dimension": dict(sorted(cell["dim_flips"].items())),
            # of the flips, those whose new answer is the file's (a probe's truth; a person's label elsewhere)
            "flips_to_file_answer": cell["flips_to_file_answer"], "failed": cell["failed"]}


def matches_prompt(records: Sequence[InstructRecord], key: str) -> bool:
    """Whether the video matches its own prompt on dimension `key`: every true answer there is the good one.

    A video drawn against its prompt (a probe with a planted absence) has a low score with its own prompt
    already, so a swap cannot lower it much; the drop over matching videos is what a model that reads the
    prompt must show (docs/stability.md)."""
    return all(r.answer == r.good_answer for r in records if r.dimension == key)


def _swap_means(own: list[float], swapped: list[float]) -> dict:
    return {"videos": len(own), "own_mean": float(np.mean(own)) if own else None,
            "swapped_mean": float(np.mean(swapped)) if swapped else None,
            "drop": float(np.mean(own) - np.mean(swapped)) if own else None}


def _prompt_swap(key: str | None, own: list[float], swapped: list[float], rubric: Rubric) -> dict:
    """Each video scored with the next video's prompt and questions: the mean of the rubric's prompt dimension
    (`key`) with its own prompt (`own`) and with the other's (`swapped`), and the drop (clearly above 0)."""
    if key is None:
        return {"dimension": None, "own_mean": None, "swapped_mean": None, "drop": None, "videos": 0,
                "note": f"the rubric {rubric.name!r} has no text-alignment dimension (prompt_questions.dimension is "
                        "null and no text_alignment): the prompt swap is not measured"}
    return {"dimension": key, **_swap_means(own, swapped)}
