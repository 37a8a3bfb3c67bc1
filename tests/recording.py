"""An answerer that notes which videos were decoded ahead, for the decode-ahead tests (imported by name in Ray
workers, as a third-party backend would be)."""
from __future__ import annotations

import os
from pathlib import Path

from fingereval.answer.base import Answerer
from fingereval.video import VideoConfig


class NotesAhead(Answerer):
    """The tiny model (loaded where it answers), and a note file per video its `prepare` step saw: that step runs
    only on a decode-ahead thread, so a note is a video decoded ahead, on the process that wrote it."""

    def __init__(self, model: str, video_config: VideoConfig, where: str):
        from fingereval.answer.transformers_backend import TransformersAnswerer

        self.model_id, self.video_config, self.where = model, video_config, Path(where)
        self._real = TransformersAnswerer(model, device="cpu", video_config=video_config)

    def prepare(self, clip):
        note = self.where / f"{Path(clip.path).name}.{os.getpid()}"
        note.write_text(str(os.getpid()))
        prepare = getattr(self._real, "prepare", None)
        return prepare(clip) if prepare is not None else clip

    def answer(self, clip, questions, reason=False):
        return self._real.answer(clip, questions, reason=reason)
