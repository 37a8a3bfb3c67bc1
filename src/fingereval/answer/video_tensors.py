"""A decoded clip as the model's video tensors, made once per video and shared by every question about it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from fingereval.answer.inputs import process
from fingereval.video import VideoClip


@dataclass
class VideoTensors:
    """The processor's tensors of one clip, where the model runs, and the token ids every question starts with."""

    pixel_values_videos: torch.Tensor
    video_grid_thw: torch.Tensor
    second_per_grid_ts: torch.Tensor
    n_video_tokens: int  # how many <|video_pad|> tokens stand for the clip in a prompt
    anchor: list[int]  # token ids of the chat text every question shares (system turn, video, instruction)
    prefix: Any = None  # the engine's prefilled prefix of this video, reused by later calls (fingereval.answer.engine)

    def __getitem__(self, name: str):
        """`video["n_video_tokens"]`: the dict this class replaced, as tests/openai_server.py still reads it."""
        return getattr(self, name)

    def model_inputs(self) -> dict[str, torch.Tensor]:
        """The forward's video keyword arguments."""
        return {"pixel_values_videos": self.pixel_values_videos, "video_grid_thw": self.video_grid_thw,
                "second_per_grid_ts": self.second_per_grid_ts}


def video_tensors(processor, clip: VideoClip, shared_text: str, *, video_token_id: int, device: str,
                  dtype: torch.dtype) -> VideoTensors:
    """Run the processor once on `clip` and the chat text every question shares (`shared_text`)."""
    enc = process(processor, [shared_text], [clip])
    return VideoTensors(
        pixel_values_videos=enc["pixel_values_videos"].to(device, dtype),
        video_grid_thw=enc["video_grid_thw"].to(device),
        second_per_grid_ts=torch.as_tensor(enc["second_per_grid_ts"], device=device),
        n_video_tokens=int((enc["input_ids"] == video_token_id).sum()),
        anchor=enc["input_ids"][0].tolist(),
    )
