"""The answerer interface: a model that watches a video and answers its yes/no questions."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Sequence

from fingereval.schema import Question, RawAnswer
from fingereval.video import VideoClip, VideoConfig


DEFAULT_MODEL = "Qwen/Qwen2.5-VL-7B-Instruct"


class Answerer(ABC):
    """One interface, many backends (transformers here; vLLM and HTTP APIs plug in the same way)."""

    name: str = "answerer"
    model_id: str = ""
    video_config: VideoConfig = VideoConfig()
    # whether `answer` shows the model `clip.image` (image-to-video) before the video; the Evaluator refuses an
    # image for an answerer that would not show it, rather than score as if the image had been seen
    takes_image: bool = False

    @abstractmethod
    def answer(self, clip: VideoClip, questions: Sequence[Question], reason: bool = False) -> list[RawAnswer]:
        """Answer every question about one decoded video (the video is encoded once for all of them)."""

    def prepare(self, clip: VideoClip) -> VideoClip:
        """Work on a decoded clip that can run before `answer`, on another thread (fingereval.decode_ahead runs it
        while the model answers about the video before): the clip to hand `answer` instead; by default the same."""
        return clip

    def explain(self, clip: VideoClip, questions: Sequence[Question], answers: Sequence[str]) -> list[str]:
        """Write a reason for each question *given* its answer (the paper's data step 4)."""
        raise NotImplementedError(f"{self.name} cannot write reasons")
