"""Answerers a test names by "module:Class" (as a third-party backend would be), around the real tiny model.

`Reasoned` writes a known reason for each question, so a test can follow exact text (line separators
included) from the model's side through the results file; `Slow` takes its time and says on which Ray node
it works, so a test can take that node away while it scores.
"""
from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

from fingereval.answer.base import Answerer
from fingereval.video import VideoConfig


def reason_for(question_text: str) -> str:
    """The reason `Reasoned` gives: the question itself, between separators that str.splitlines() splits on."""
    return f"\u2028because\u2029{question_text}\u0085end"


class _TinyModel(Answerer):
    def __init__(self, model: str, video_config: VideoConfig):
        from fingereval.answer.transformers_backend import TransformersAnswerer

        self.model_id, self.video_config = model, video_config
        self._real = TransformersAnswerer(model, device="cpu", video_config=video_config)


class Reasoned(_TinyModel):
    """The tiny model's answers, each with the reason `reason_for(question.text)`."""

    def answer(self, clip, questions, reason=False):
        answers = self._real.answer(clip, questions, reason=False)
        by_id = {q.id: q.text for q in questions}
        return [dataclasses.replace(a, reason=reason_for(by_id[a.question_id])) for a in answers]


class Slow(_TinyModel):
    """The tiny model, after waiting for the file `where/go` (at most `seconds`); before it waits it writes its
    Ray node's id to `where/<video file name>.<pid>`, so that a test sees which node holds which video and can
    act on it while it is held (a file, not a fixed sleep: a loaded machine must not end the wait first)."""

    def __init__(self, model: str, video_config: VideoConfig, where: str, seconds: float = 3.0):
        super().__init__(model, video_config)
        self.where, self.seconds = Path(where), seconds

    def answer(self, clip, questions, reason=False):
        import ray

        node = ray.get_runtime_context().get_node_id()
        (self.where / f"{Path(clip.path).name}.{os.getpid()}").write_text(node)
        deadline = time.monotonic() + self.seconds
        while not (self.where / "go").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        return self._real.answer(clip, questions, reason=reason)
