"""Caps on what one video or one run may ask of the model, checked before the model sees it.

The same caps serve the CLI (`fingereval score --max-questions ...`, off unless given) and the service
(`fingereval serve`, on by default): questions per video, prompt length, decoded seconds and frames per video,
videos per batch. Going over one is a LimitExceeded naming the cap and the option that sets it.
"""
from __future__ import annotations

from dataclasses import dataclass

from fingereval.errors import DataError


class LimitExceeded(DataError):
    """A prompt, a question set, a video or a batch is over one of the caps (a 422 from the service)."""


@dataclass(frozen=True)
class InputLimits:
    max_questions: int | None = None  # questions asked of one video
    max_prompt_chars: int | None = None  # characters of one prompt
    max_video_seconds: float | None = None  # seconds of video decoded for one item
    max_video_frames: int | None = None  # frames decoded for one item (all of them, not only the sampled ones)
    # pixels decoded for one item (frames x width x height): the decoder's work, which frames alone do not bound
    # (18,000 8K frames fit in a few MB of bytes and take many minutes to decode)
    max_video_pixels: float | None = None
    max_videos: int | None = None  # videos in one batch (a manifest, a score_batch request)

    def __post_init__(self):
        for name, value in vars(self).items():
            if value is not None and value <= 0:
                raise ValueError(f"--{name.replace('_', '-')} must be positive, not {value}")

    def check_prompt(self, prompt: str, what: str = "the prompt") -> None:
        _check(len(prompt), self.max_prompt_chars, f"{what} has {{n}} characters", "characters",
               "--max-prompt-chars", "shorten it")

    def check_questions(self, questions: list, what: str = "the question set") -> None:
        """Their number, and each one's text against the prompt's cap (it is text the model reads, too)."""
        _check(len(questions), self.max_questions, f"{what} has {{n}} questions", "questions per video",
               "--max-questions", "ask fewer")
        for q in questions:
            _check(len(q.text), self.max_prompt_chars, f"question {q.id} has {{n}} characters", "characters",
                   "--max-prompt-chars", "shorten it")

    def check_videos(self, count: int, what: str = "the batch") -> None:
        _check(count, self.max_videos, f"{what} has {{n}} videos", "videos per batch", "--max-videos",
               "split it")

    def check_video_length(self, path: object, seconds: float | None, frames: int | None,
                           frame_pixels: int | None = None) -> None:
        """A video's decoded length, in seconds and frames (None: not known), and its decoded pixels (frames x
        `frame_pixels`), against the caps."""
        if seconds is not None:
            _check(seconds, self.max_video_seconds, f"{path}: {{n:.1f}} s of video", "seconds per video",
                   "--max-video-seconds", "cut the clip")
        if frames is not None:
            _check(frames, self.max_video_frames, f"{path}: {{n}} frames", "decoded frames per video",
                   "--max-video-frames", "cut the clip or lower its frame rate")
        if frames is not None and frame_pixels:
            _check(frames * frame_pixels, self.max_video_pixels, f"{path}: {{n:.3g}} decoded pixels", "pixels per video",
                   "--max-video-pixels", "cut the clip or downscale it")


def _check(n: float, cap: float | None, found: str, unit: str, option: str, fix: str) -> None:
    if cap is not None and n > cap:
        raise LimitExceeded(f"{found.format(n=n)}, over the cap of {cap:g} {unit} ({option}); {fix}, "
                            "or raise the cap")
