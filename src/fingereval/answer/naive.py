"""The naive baseline: every prompt from scratch through the model's own position logic and `generate`.

It answers what the shared-prefix engine (fingereval.answer.engine) answers, with the same methods, one prompt
at a time: the baseline its speed is measured against and the reference its numbers are checked against.
"""
from __future__ import annotations

import torch

from fingereval.answer import hf_compat
from fingereval.answer.engine import Completion
from fingereval.answer.inputs import common_prefix_length, mm_token_type_ids
from fingereval.answer.stopping import StopRule
from fingereval.answer.video_tensors import VideoTensors


class NaiveEngine:
    """Next-token log-probabilities and greedy continuations, each prompt with its own pass over the video."""

    def __init__(self, model, *, pad_id: int, device: str | None = None):
        self.model = model
        self.pad_id = pad_id
        self.device = device or str(model.device)
        self.video_token_id = model.config.video_token_id
        self.image_token_id = model.config.image_token_id

    @torch.inference_mode()
    def last_two_logprobs(self, video: VideoTensors, rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        pairs = [self._last_two(r, video) for r in rows]
        return torch.cat([b for b, _ in pairs]), torch.cat([a for _, a in pairs])

    @torch.inference_mode()
    def generate(self, video: VideoTensors, rows: list[list[int]], stop: StopRule) -> list[list[int]]:
        return [stop.cut(self._generate(r, video, stop).sequences[0, len(r):].tolist()) for r in rows]

    @torch.inference_mode()
    def generate_then_read(self, video: VideoTensors, prompts: list[list[int]], stop: StopRule, complete: Completion):
        """transformers' generate, then the completed row's last two tokens as one short step from that prompt's
        own cache (no second pass over the video). Returns (generated, completions, before, at)."""
        generated, completions, before, at = [], [], [], []
        for ids in prompts:
            out = self._generate(ids, video, stop)
            everything = out.sequences[0, len(ids):].tolist()
            gen = stop.cut(everything)
            completion = complete(gen)
            logp = self._read_from_generate_cache(ids, everything, ids + completion[0], out, video)
            generated.append(gen)
            completions.append(completion)
            before.append(logp[0:1])
            at.append(logp[1:2])
        return generated, completions, torch.cat(before), torch.cat(at)

    def _types(self, ids: torch.Tensor) -> torch.Tensor:
        return mm_token_type_ids(ids, self.video_token_id, self.image_token_id)

    def _forward(self, ids: list[int], video: VideoTensors):
        x = torch.tensor([ids], device=self.device)
        return self.model(input_ids=x, attention_mask=torch.ones_like(x),
                          mm_token_type_ids=self._types(x), **video.model_inputs(),
                          logits_to_keep=2, use_cache=False)

    def _last_two(self, ids: list[int], video: VideoTensors) -> tuple[torch.Tensor, torch.Tensor]:
        hf_compat.forget_positions(self.model)  # never reuse another video's positions
        logp = torch.log_softmax(self._forward(ids, video).logits[0].double(), dim=-1)
        return logp[-2:-1], logp[-1:]

    def _generate(self, ids: list[int], video: VideoTensors, stop: StopRule):
        hf_compat.forget_positions(self.model)
        x = torch.tensor([ids], device=self.device)
        return self.model.generate(
            input_ids=x, attention_mask=torch.ones_like(x), mm_token_type_ids=self._types(x),
            **video.model_inputs(), max_new_tokens=stop.max_new_tokens, do_sample=False,
            stopping_criteria=stop.stopping_criteria(len(ids)), pad_token_id=self.pad_id,
            eos_token_id=sorted(stop.end_of_turn), suppress_tokens=[self.video_token_id], return_dict_in_generate=True,
        )

    def _read_from_generate_cache(self, ids: list[int], everything: list[int], row: list[int], out,
                                  video: VideoTensors) -> torch.Tensor:
        """Log-probs (2, vocab) at `row`'s last two tokens, from generate's cache cropped to what `row` shares."""
        cache = hf_compat.returned_cache(out)  # holds every token but the last one sampled
        fed = len(ids) + len(everything) - 1
        keep = min(fed, len(ids) + common_prefix_length([row[len(ids):], everything]), len(row) - 2)
        hf_compat.drop_last(cache, fed - keep)
        first = torch.tensor([ids], device=self.device)
        _, delta = hf_compat.rope_index(self.model, first, self._types(first),
                                        video.video_grid_thw, video.second_per_grid_ts, video.image_grid_thw)
        step = torch.tensor([row[keep:]], device=self.device)
        pos = (torch.arange(keep, len(row), device=self.device) + delta).view(1, 1, -1).expand(3, 1, -1)
        logits = self.model(input_ids=step, position_ids=pos, **hf_compat.cache_arg(cache), use_cache=True,
                            logits_to_keep=2).logits
        return torch.log_softmax(logits[0].double(), dim=-1)
