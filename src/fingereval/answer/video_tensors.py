"""A decoded clip as the model's video tensors (and its conditioning image's), made once per video and shared by
every question about it."""
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
    # image-to-video: the conditioning image's tensors (None without one) and its <|image_pad|> tokens in a prompt
    pixel_values: torch.Tensor | None = None
    image_grid_thw: torch.Tensor | None = None
    n_image_tokens: int = 0

    def __getitem__(self, name: str):
        """`video["n_video_tokens"]`: the dict this class replaced, as tests/openai_server.py still reads it."""
        return getattr(self, name)

    def model_inputs(self) -> dict[str, torch.Tensor]:
        """The forward's video keyword arguments (and the image's, for an image-to-video clip)."""
        image = {} if self.pixel_values is None else {"pixel_values": self.pixel_values,
                                                      "image_grid_thw": self.image_grid_thw}
        return {"pixel_values_videos": self.pixel_values_videos, "video_grid_thw": self.video_grid_thw,
                "second_per_grid_ts": self.second_per_grid_ts, **image}


@dataclass(frozen=True)
class PreparedClip(VideoClip):
    """A decoded clip with the processor's output for it (CPU tensors), made ahead of the model (`prepare_clip`)."""

    encoding: Any = None  # process(processor, [shared_text], [clip])
    encoded_image: str | None = None  # the sha256 of the image the encoding holds (None: none); another is re-run

    @property
    def prepared_bytes(self) -> int:
        """Memory the processor's tensors hold (fingereval.decode_ahead counts it with the frames)."""
        return sum(v.nelement() * v.element_size() for v in self.encoding.values() if isinstance(v, torch.Tensor))


def prepare_clip(processor, clip: VideoClip, shared_text: str) -> PreparedClip:
    """`clip` with the processor run on it and the shared chat text: what `video_tensors` would run first."""
    fields = {f.name: getattr(clip, f.name) for f in dataclasses.fields(VideoClip)}
    return PreparedClip(**fields, encoding=process(processor, [shared_text], [clip]), encoded_image=_image_key(clip))


def _image_key(clip: VideoClip) -> str | None:
    return None if clip.image is None else clip.image.sha256


def video_tensors(processor, clip: VideoClip, shared_text: str, *, video_token_id: int, device: str,
                  dtype: torch.dtype, image_token_id: int | None = None) -> VideoTensors:
    """Run the processor once on `clip` and the chat text every question shares (`shared_text`), unless a
    PreparedClip carries its output already (made with the same conditioning image). `shared_text` holds an image
    placeholder before the video's when the clip has an image; `image_token_id` counts its tokens."""
    prepared = (isinstance(clip, PreparedClip) and clip.encoding is not None
                and clip.encoded_image == _image_key(clip))
    enc = clip.encoding if prepared else process(processor, [shared_text], [clip])
    has_image = "pixel_values" in enc
    return VideoTensors(
        pixel_values_videos=enc["pixel_values_videos"].to(device, dtype),
        video_grid_thw=enc["video_grid_thw"].to(device),
        second_per_grid_ts=torch.as_tensor(enc["second_per_grid_ts"], device=device),
        n_video_tokens=int((enc["input_ids"] == video_token_id).sum()),
        anchor=enc["input_ids"][0].tolist(),
        pixel_values=enc["pixel_values"].to(device, dtype) if has_image else None,
        image_grid_thw=enc["image_grid_thw"].to(device) if has_image else None,
        n_image_tokens=int((enc["input_ids"] == image_token_id).sum()) if has_image and image_token_id else 0,
    )
