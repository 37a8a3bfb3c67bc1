"""A decoded clip as the model's video tensors, made once per video and shared by every question about it."""
from __future__ import annotations

import dataclasses
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


@dataclass(frozen=True)
class PreparedClip(VideoClip):
    """A decoded clip with the processor's output for it (CPU tensors), made ahead of the model (`prepare_clip`)."""

    encoding: Any = None  # process(processor, [shared_text], [clip])

    @property
    def prepared_bytes(self) -> int:
        """Memory the processor's tensors hold (fingereval.decode_ahead counts it with the frames)."""
        return sum(v.nelement() * v.element_size() for v in self.encoding.values() if isinstance(v, torch.Tensor))


def prepare_clip(processor, clip: VideoClip, shared_text: str) -> PreparedClip:
    """`clip` with the processor run on it and the shared chat text: what `video_tensors` would run first."""
    fields = {f.name: getattr(clip, f.name) for f in dataclasses.fields(VideoClip)}
    return PreparedClip(**fields, encoding=process(processor, [shared_text], [clip]))


def video_tensors(processor, clip: VideoClip, shared_text: str, *, video_token_id: int, device: str,
                  dtype: torch.dtype) -> VideoTensors:
    """Run the processor once on `clip` and the chat text every question shares (`shared_text`), unless a
    PreparedClip carries its output already."""
    prepared = isinstance(clip, PreparedClip) and clip.encoding is not None
    enc = clip.encoding if prepared else process(processor, [shared_text], [clip])
    return VideoTensors(
        pixel_values_videos=enc["pixel_values_videos"].to(device, dtype),
        video_grid_thw=enc["video_grid_thw"].to(device),
        second_per_grid_ts=torch.as_tensor(enc["second_per_grid_ts"], device=device),
        n_video_tokens=int((enc["input_ids"] == video_token_id).sum()),
        anchor=enc["input_ids"][0].tolist(),
    )
