"""ScoringConfig: everything that decides a score, as one pydantic record the CLI, the batch runners,
Ray workers and services pass around (Ray ships it as plain data, never an answerer object)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fingereval.answer.base import DEFAULT_MODEL
from fingereval.decode_ahead import DEFAULT_DEPTH, DEFAULT_WORKERS
from fingereval.limits import InputLimits
from fingereval.rubric import Rubric, load_rubric
from fingereval.video import VideoConfig


class ScoringConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    answerer: str = "transformers"
    model: str = DEFAULT_MODEL
    answerer_options: dict[str, Any] = {}  # backend options: device, dtype, shared_prefix, max_new_tokens, ...
    reason: bool = False
    generator: str = "templates"
    generator_options: dict[str, Any] = {}
    weights: Path | None = None
    calibration: Path | None = None  # a temperature and bias from `fingereval calibrate`
    # the dimensions, weights and templates (a file or shipped name is read at once): carried as content, so that a
    # Ray worker on another machine scores with the same rubric without its file
    rubric: Rubric | None = None
    fps: float = VideoConfig.fps
    max_frames: int = VideoConfig.max_frames
    size: int = VideoConfig.size
    keep_aspect: bool = VideoConfig.keep_aspect
    limits: InputLimits = InputLimits()  # caps checked before the model (--max-questions, ...): none by default
    # how a batch runs, not what it scores: videos decoded ahead of the model, on so many threads (decode_ahead.py)
    decode_ahead: int = Field(DEFAULT_DEPTH, ge=0)
    decode_workers: int = Field(DEFAULT_WORKERS, ge=1)

    @field_validator("rubric", mode="before")
    @classmethod
    def _read_rubric(cls, value):
        return load_rubric(value) if isinstance(value, (str, Path)) else value

    def video_config(self) -> VideoConfig:
        return VideoConfig(fps=self.fps, max_frames=self.max_frames, size=self.size, keep_aspect=self.keep_aspect)

    def evaluator(self):
        """The Evaluator this configuration describes (loads the model)."""
        from fingereval.evaluator import Evaluator

        return Evaluator(self.model, answerer=self.answerer, reason=self.reason, generator=self.generator,
                         generator_options=self.generator_options, weights=self.weights, calibration=self.calibration,
                         rubric=self.rubric,
                         video_config=self.video_config(), limits=self.limits, **self.answerer_options)
