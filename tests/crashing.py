"""An answerer whose worker process dies on cue, for the Ray tests (imported by name in the workers)."""
from __future__ import annotations

import os
from pathlib import Path

import ray

from fingereval.answer.base import Answerer
from fingereval.video import VideoConfig


class DiesOn(Answerer):
    """The tiny model, loaded in the worker, in a worker process that exits (as on a segfault or the OOM killer)
    when `rule` says so: "crash" on videos named crash*, "first-worker" on whatever the first worker to
    answer gets, before and after its restart (Ray keeps the actor id)."""

    def __init__(self, model: str, video_config: VideoConfig, rule: str, claim: str = ""):
        self.model_id, self.video_config, self.rule, self.claim, self._real = model, video_config, rule, claim, None

    def _doomed(self, clip) -> bool:
        if self.rule == "crash":
            return Path(clip.path).name.startswith("crash")
        me = ray.get_runtime_context().get_actor_id()
        try:
            fd = os.open(self.claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            os.write(fd, me.encode())
            os.close(fd)
        except FileExistsError:
            pass
        return Path(self.claim).read_text() == me

    def answer(self, clip, questions, reason=False):
        if self._doomed(clip):
            os._exit(3)
        if self._real is None:
            from fingereval.answer.transformers_backend import TransformersAnswerer

            self._real = TransformersAnswerer(self.model_id, device="cpu", video_config=self.video_config)
        return self._real.answer(clip, questions, reason=reason)
