"""The shared-prefix engine: prefill a video's prefix once, branch every question off it, decode greedily.

Every question of a video shares the same token prefix: system turn, the video, the fixed instruction. The
engine runs the vision tower and prefills that prefix once, then reads or continues all questions from the
prefix's KV cache in batches. It knows token ids and video tensors only: chat formatting
(fingereval.answer.chat_tokens) and decoding clips (fingereval.answer.video_tensors) happen before it, the
answer slot's reading after it, so a forward over several videos at once has one place to go (docs/speed.md).

Positions: the suffix tokens continue at `index + rope delta` on all three M-RoPE axes; we pass them
explicitly, computed from this very video (`hf_compat.rope_index`), never the model's stored delta, which is
stale after another video.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from fingereval.answer import hf_compat
from fingereval.answer.inputs import common_prefix_length, mm_token_type_ids, packed_suffixes
from fingereval.answer.prefix_cache import preallocated, shared_view
from fingereval.answer.stopping import StopRule
from fingereval.answer.video_tensors import VideoTensors

# (ids to append to a generated continuation, anything its caller wants back), from the continuation's ids
Completion = Callable[[list[int]], tuple[list[int], Any]]


@dataclass
class Prefix:
    """A video's shared prefix, prefilled once: its KV cache and what the suffixes need to continue."""

    cache: object  # transformers DynamicCache, batch size 1
    length: int  # tokens in the prefix
    rope_delta: int  # M-RoPE offset of text positions after the video
    tokens: list[int]  # the prefix token ids, to check that later prompts share them


class PrefixEngine:
    """Next-token log-probabilities and greedy continuations of prompts that share one video's prefix."""

    def __init__(self, model, *, pad_id: int, suffix_batch: int = 16, device: str | None = None,
                 dtype: torch.dtype | None = None):
        self.model = model
        self.pad_id = pad_id
        self.suffix_batch = max(1, suffix_batch)
        self.device = device or str(model.device)
        self.dtype = dtype or model.dtype
        self.video_token_id = model.config.video_token_id
        self.image_token_id = model.config.image_token_id  # an image-to-video clip's conditioning image

    # ---- what the answerer asks ------------------------------------------------------------------------

    @torch.inference_mode()
    def last_two_logprobs(self, video: VideoTensors, rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """(before, at): float64 next-token log-probabilities (n, vocab) at each row's last two tokens."""
        prefix = self.prefix_for(video, rows)
        suffixes = [r[prefix.length:] for r in rows]
        pairs = [self._suffix_last_logprobs(prefix, suffixes[i:i + self.suffix_batch])
                 for i in range(0, len(rows), self.suffix_batch)]
        return torch.cat([b for b, _ in pairs]), torch.cat([a for _, a in pairs])

    @torch.inference_mode()
    def generate(self, video: VideoTensors, rows: list[list[int]], stop: StopRule) -> list[list[int]]:
        """Greedy continuation ids of each row, ended by `stop`."""
        prefix = self.prefix_for(video, rows)
        suffixes = [r[prefix.length:] for r in rows]
        out: list[list[int]] = []
        for i in range(0, len(rows), self.suffix_batch):
            out += self._greedy_from_prefix(prefix, suffixes[i:i + self.suffix_batch], stop)
        return out

    def generate_then_read(self, video: VideoTensors, prompts: list[list[int]], stop: StopRule, complete: Completion):
        """Continue each prompt greedily, append `complete`'s ids, and read the last two log-probs of the result.

        Returns (generated, completions, before, at). The continued rows share the prompts' prefix: one prefill.
        """
        generated = self.generate(video, prompts, stop)
        completions = [complete(g) for g in generated]
        before, at = self.last_two_logprobs(video, [p + c[0] for p, c in zip(prompts, completions)])
        return generated, completions, before, at

    # ---- the prefix --------------------------------------------------------------------------------------

    def prefix_for(self, video: VideoTensors, rows: list[list[int]]) -> Prefix:
        """The video's prefilled prefix, reused when these rows start with it, else prefilled anew."""
        cached = video.prefix
        if cached is not None and all(len(r) > cached.length and r[:cached.length] == cached.tokens for r in rows):
            return cached
        video.prefix = self._prefill(rows + [video.anchor], video)
        return video.prefix

    def _prefill(self, rows: list[list[int]], video: VideoTensors) -> Prefix:
        p = common_prefix_length(rows)
        p = min(p, min(len(r) for r in rows[:-1]) - 2)  # every prompt keeps its last two tokens as suffix (the slot)
        first = torch.tensor([rows[0]], device=self.device)
        positions, delta = hf_compat.rope_index(self.model, first, self.token_types(first), video.video_grid_thw,
                                                video.second_per_grid_ts, video.image_grid_thw)
        video_end = max(i for i, t in enumerate(rows[0]) if t in (self.video_token_id, self.image_token_id))
        if p <= video_end:
            raise ValueError("the prompts differ before the end of the video; they cannot share a prefix")
        prefix = first[:, :p]
        out = self.model(input_ids=prefix, mm_token_type_ids=self.token_types(prefix),
                         position_ids=positions[:, :, :p], **video.model_inputs(), use_cache=True, logits_to_keep=1)
        return Prefix(cache=hf_compat.returned_cache(out), length=p, rope_delta=delta, tokens=rows[0][:p])

    def token_types(self, ids: torch.Tensor) -> torch.Tensor:
        """mm_token_type_ids of `ids`: the conditioning image's tokens as images, the video's as video."""
        return mm_token_type_ids(ids, self.video_token_id, self.image_token_id)

    # ---- reading suffixes --------------------------------------------------------------------------------

    def _suffix_last_logprobs(self, prefix: Prefix, suffixes: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """(before, at) next-token log-probs at each suffix's last two tokens."""
        if hf_compat.attention_kernel(self.model) in ("sdpa", "eager"):
            return self._packed_last_logprobs(prefix, suffixes)
        return self._batched_last_logprobs(prefix, suffixes)  # e.g. flash attention: no custom masks

    def _packed_last_logprobs(self, prefix: Prefix, suffixes: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """All suffixes as one row after the prefix, each seeing the prefix and itself (a block mask).

        No padding and no copies of the prefix cache per question: at 7B the cache repeated 20 times
        would be about 1.2 GB. The slot's two rows per question come out of the same pass.
        """
        lengths = [len(s) for s in suffixes]
        ids = torch.tensor([[t for s in suffixes for t in s]], device=self.device)
        ends = torch.tensor(lengths).cumsum(0) - 1
        pos, allowed = packed_suffixes(prefix.length, lengths, prefix.rope_delta)
        pos, allowed = pos.view(1, 1, -1).expand(3, 1, -1).to(self.device), allowed.to(self.device)
        if hf_compat.attention_kernel(self.model) == "eager":  # eager adds the mask; sdpa takes booleans
            mask = torch.zeros(allowed.shape, dtype=self.dtype, device=self.device).masked_fill(~allowed, torch.finfo(self.dtype).min)
        else:
            mask = allowed
        keep = torch.stack([ends - 1, ends], dim=1).reshape(-1).to(self.device)
        out = self.model(input_ids=ids, position_ids=pos, attention_mask=mask[None, None], use_cache=True,
                         **hf_compat.cache_arg(shared_view(prefix.cache, 1)), logits_to_keep=keep)
        logp = torch.log_softmax(out.logits[0].double(), dim=-1).view(len(suffixes), 2, -1)
        return logp[:, 0], logp[:, 1]

    def _batched_last_logprobs(self, prefix: Prefix, suffixes: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """The right-padded batch of suffixes, one per row (for attention kernels that take no block mask)."""
        ids, pos, _, last = right_padded(prefix, suffixes, self.pad_id, self.device)
        # Right padding needs no mask: attention is causal, so pads only follow the tokens we read.
        hidden = hf_compat.base_model(self.model)(input_ids=ids, position_ids=pos, use_cache=True,
                                                  **hf_compat.cache_arg(shared_view(prefix.cache, len(suffixes)))
                                                  ).last_hidden_state
        rows = torch.arange(len(suffixes), device=hidden.device)
        picked = torch.stack([hidden[rows, last - 1], hidden[rows, last]], dim=1)  # lm_head on two rows each only
        logp = torch.log_softmax(hf_compat.lm_head(self.model)(picked).double(), dim=-1)
        return logp[:, 0], logp[:, 1]

    # ---- greedy decoding ---------------------------------------------------------------------------------

    def _greedy_from_prefix(self, prefix: Prefix, suffixes: list[list[int]], stop: StopRule) -> list[list[int]]:
        # Hand-written greedy loop: transformers' generate cannot continue a shared multimodal prefix cache
        # with explicit M-RoPE positions per row. It stops by the same rule as generate does (StopRule).
        ids, pos, mask, last = right_padded(prefix, suffixes, self.pad_id, self.device)
        n = len(suffixes)
        cache = preallocated(prefix.cache, n, prefix.length + ids.shape[1] + stop.max_new_tokens)
        out = self.model(input_ids=ids, position_ids=pos, attention_mask=mask, **hf_compat.cache_arg(cache),
                         use_cache=True, logits_to_keep=last.view(-1, 1))
        cache, logits = hf_compat.returned_cache(out), out.logits[:, -1]
        next_pos = prefix.length + last + 1 + prefix.rope_delta
        generated: list[list[int]] = [[] for _ in range(n)]
        done = [False] * n
        for _ in range(stop.max_new_tokens):
            logits[:, self.video_token_id] = -math.inf  # never write a video token
            tok = logits.argmax(dim=-1)
            for i in range(n):
                if not done[i]:
                    done[i] = stop.extend(generated[i], int(tok[i]))
            if all(done):
                break
            mask = torch.cat([mask, torch.ones((n, 1), dtype=mask.dtype, device=mask.device)], dim=1)
            step_pos = next_pos.view(1, -1, 1).expand(3, -1, 1)
            out = self.model(input_ids=tok.view(-1, 1), position_ids=step_pos, attention_mask=mask,
                             **hf_compat.cache_arg(cache), use_cache=True)
            cache, logits, next_pos = hf_compat.returned_cache(out), out.logits[:, -1], next_pos + 1
        return generated


def right_padded(prefix: Prefix, suffixes: Sequence[Sequence[int]], pad_id: int, device: str):
    """Right-padded suffix ids, their M-RoPE positions, an attention mask over prefix and suffix, and each
    suffix's last real index."""
    width = max(len(s) for s in suffixes)
    ids = torch.full((len(suffixes), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(suffixes), prefix.length + width), dtype=torch.long)
    mask[:, :prefix.length] = 1
    for i, s in enumerate(suffixes):
        ids[i, :len(s)] = torch.tensor(s)
        mask[i, prefix.length:prefix.length + len(s)] = 1
    pos = torch.arange(prefix.length, prefix.length + width) + prefix.rope_delta
    pos = pos.view(1, 1, -1).expand(3, len(suffixes), -1)
    last = torch.tensor([len(s) - 1 for s in suffixes])
    return ids.to(device), pos.to(device), mask.to(device), last.to(device)
