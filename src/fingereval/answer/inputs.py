"""Model inputs for a decoded video, built the same way for scoring, training and benchmarks.

One place decides how frames reach the processor: we sample with PyAV (fingereval.video), hand the
processor the frames with their real sampled fps (else it assumes 24 fps and the temporal M-RoPE
positions are wrong) and switch its own sampling off. An image-to-video clip's conditioning image
(fingereval.image, resized as the frames are) comes before the video in the user turn, so it sits in the
prefix every question shares and is encoded once per video, like the video.
"""
from __future__ import annotations

from typing import Sequence

import torch

from fingereval.video import VideoClip

VIDEO_PAD = "<|video_pad|>"
IMAGE_PAD = "<|image_pad|>"


def video_metadata(clip: VideoClip) -> dict:
    n = clip.num_frames
    return {"total_num_frames": n, "fps": clip.fps, "frames_indices": list(range(n)),
            "width": int(clip.frames.shape[2]), "height": int(clip.frames.shape[1]), "duration": clip.duration}


def process(processor, texts: Sequence[str], clips: Sequence[VideoClip]):
    """Run the real processor on chat texts (one video placeholder each, and one image placeholder before it for
    each clip with a conditioning image) and their clips."""
    images = [c.image.pixels for c in clips if c.image is not None]
    return processor(text=list(texts), videos=[c.frames for c in clips], video_metadata=[video_metadata(c) for c in clips],
                     **({"images": images} if images else {}), do_sample_frames=False, cap_pixels_per_frame=True,
                     padding=True, return_tensors="pt")


def video_pixels(processor, clip: VideoClip):
    """(pixel_values_videos, video_grid_thw) of one clip, exactly as `process` makes them (no text)."""
    out = processor.video_processor(videos=[clip.frames], video_metadata=[video_metadata(clip)], do_sample_frames=False,
                                    cap_pixels_per_frame=True, return_tensors="pt")
    return out["pixel_values_videos"], out["video_grid_thw"]


def chat_text(processor, user: str, assistant: str = "", *, add_generation_prompt: bool = True,
              image: bool = False) -> str:
    """The chat-templated prompt for one question (video first; with `image`, the conditioning image before the
    video), optionally with an assistant turn start."""
    media = [{"type": "image"}, {"type": "video"}] if image else [{"type": "video"}]
    msgs = [{"role": "user", "content": [*media, {"type": "text", "text": user}]}]
    return processor.apply_chat_template(msgs, add_generation_prompt=add_generation_prompt, tokenize=False) + assistant


def mm_token_type_ids(input_ids: torch.Tensor, video_token_id: int, image_token_id: int | None = None) -> torch.Tensor:
    """0 for text, 1 for image, 2 for video tokens: required for 3-D positions in transformers 5.x."""
    types = (input_ids == video_token_id).to(torch.int32) * 2
    if image_token_id is not None:
        types = types + (input_ids == image_token_id).to(torch.int32)
    return types


def common_prefix_length(rows: Sequence[Sequence[int]]) -> int:
    """Longest common token prefix: tokenising prefix and suffix separately can split BPE differently."""
    first = rows[0]
    n = min(len(r) for r in rows)
    for i in range(n):
        if any(r[i] != first[i] for r in rows[1:]):
            return i
    return n


def packed_suffixes(prefix_length: int, lengths: Sequence[int], rope_delta: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Suffixes laid one after another behind a shared prefix, each seeing the prefix and itself only.

    Returns each suffix token's text position (it continues the prefix as if it were the only suffix:
    index + rope delta on all three M-RoPE axes) and the boolean mask (suffix tokens x prefix + suffix
    tokens). Scoring (the answerer) and packed training use this one layout, so they cannot drift apart.
    """
    offset = torch.cat([torch.arange(n) for n in lengths])  # position of each token inside its suffix
    segment = torch.repeat_interleave(torch.arange(len(lengths)), torch.tensor(list(lengths)))
    own = (segment.view(-1, 1) == segment.view(1, -1)) & (offset.view(1, -1) <= offset.view(-1, 1))
    allowed = torch.cat([torch.ones(len(offset), prefix_length, dtype=torch.bool), own], dim=1)
    return prefix_length + offset + rope_delta, allowed
