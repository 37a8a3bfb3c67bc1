"""Answerer on transformers (Qwen2-VL / Qwen2.5-VL family), with shared-prefix scoring.

Every question of a video shares the same token prefix: system turn, the video, the fixed
instruction. We decode the video once, run the vision tower and prefill that prefix once, then branch
all questions off the prefix KV cache in batches. The naive path (each question from scratch through
the model's own position logic) stays available as the baseline and as a correctness check.

Positions (see ../shared/PITFALLS.md): the suffix tokens continue at `index + rope_delta` on all three
M-RoPE axes; we pass them explicitly, computed from `get_rope_index` of this very video, never the
model's stored `rope_deltas` (stale after another video).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch

from fingereval.answer.base import DEFAULT_MODEL, Answerer
from fingereval.answer.format import ANSWER_OPEN, assistant_prefix, parse_output, text_before_answer_slot, user_text
from fingereval.answer.hub import check_model
from fingereval.answer.inputs import chat_text, common_prefix_length, mm_token_type_ids, packed_suffixes, process
from fingereval.answer.prefix_cache import preallocated, shared_view
from fingereval.answer.tokens import answer_slot, slot_log_odds
from fingereval.errors import ConfigError
from fingereval.schema import Question, RawAnswer
from fingereval.video import VideoClip, VideoConfig


def pick_device(device: str | None) -> str:
    if device and device != "auto":
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def pick_dtype(dtype: str | None, device: str) -> torch.dtype:
    if dtype and dtype != "auto":
        return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]
    return torch.bfloat16 if device.startswith("cuda") else torch.float32


def load_model_and_processor(model: str | Path, device: str = "cpu", dtype: torch.dtype = torch.float32):
    """Load a hub id or a local checkpoint directory through the same code path."""
    from transformers import AutoModelForImageTextToText, AutoProcessor
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # keep stderr for our own messages

    files = check_model(model)  # a wrong id, a gated model or no network is named here, before any weights load
    try:
        processor = AutoProcessor.from_pretrained(files.source, local_files_only=files.local_only)
        net = AutoModelForImageTextToText.from_pretrained(files.source, dtype=dtype, local_files_only=files.local_only)
    except (OSError, ValueError) as e:  # no weights / no processor files / unknown architecture
        raise ConfigError(
            f"model {model}: cannot load ({str(e).splitlines()[0][:160]}); give a checkpoint folder saved with "
            "save_pretrained (model and processor) or a hub id that is downloaded"
        ) from None
    if not hasattr(getattr(net, "model", None), "get_rope_index"):
        raise ConfigError(f"model {model}: {type(net).__name__} is not a Qwen2-VL-family model; this backend needs M-RoPE")
    return net.to(device).eval(), processor


@dataclass
class _Prefix:
    """A video's shared prefix, prefilled once: its KV cache and what the suffixes need to continue."""

    cache: object  # transformers DynamicCache, batch size 1
    length: int  # tokens in the prefix
    rope_delta: int  # M-RoPE offset of text positions after the video
    tokens: list[int]  # the prefix token ids, to check that later prompts share them


class TransformersAnswerer(Answerer):
    name = "transformers"

    def __init__(self, model: str | Path = DEFAULT_MODEL, *, device: str | None = None, dtype: str | None = None,
                 video_config: VideoConfig = VideoConfig(), shared_prefix: bool = True, suffix_batch: int = 16,
                 max_new_tokens: int = 128):
        self.model_id = str(model)
        self.device = pick_device(device)
        self.dtype = pick_dtype(dtype, self.device)
        net, processor = load_model_and_processor(model, self.device, self.dtype)
        self._setup(net, processor, video_config, shared_prefix, suffix_batch, max_new_tokens)

    @classmethod
    def from_loaded(cls, model, processor, *, video_config: VideoConfig = VideoConfig(), shared_prefix: bool = True,
                    suffix_batch: int = 16, max_new_tokens: int = 128) -> "TransformersAnswerer":
        """An answerer on a model already in memory (a trainer's, or one built on the GPU for a benchmark)."""
        self = cls.__new__(cls)
        self.model_id = getattr(model, "name_or_path", "") or type(model).__name__
        self.device, self.dtype = str(model.device), model.dtype
        self._setup(model.eval(), processor, video_config, shared_prefix, suffix_batch, max_new_tokens)
        return self

    def _setup(self, net, processor, video_config: VideoConfig, shared_prefix: bool, suffix_batch: int,
               max_new_tokens: int) -> None:
        self.model, self.processor = net, processor
        self.tokenizer = self.processor.tokenizer
        self.video_config = video_config
        self.shared_prefix = shared_prefix
        self.suffix_batch = max(1, suffix_batch)
        self.max_new_tokens = max_new_tokens
        self.slot = answer_slot(self.tokenizer, ANSWER_OPEN)
        self.video_token_id = self.model.config.video_token_id
        self.eos_ids = {self.tokenizer.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|endoftext|>")}
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0

    # ---- public API -------------------------------------------------------------------------

    def answer(self, clip: VideoClip, questions: Sequence[Question], reason: bool = False) -> list[RawAnswer]:
        if not questions:
            return []
        users = [user_text(q.text) for q in questions]
        video = self._video_inputs(clip)
        if not reason:
            rows = self._rows(video, users, [assistant_prefix(False)] * len(users))
            return [RawAnswer(q.id, pi) for q, pi in zip(questions, self._p_yes(video, rows))]
        prompts = self._rows(video, users, [assistant_prefix(True)] * len(users))
        if self.shared_prefix:
            generated = self._generate_ids(video, prompts, ANSWER_OPEN)
            slots = [self._slot_ids(g) for g in generated]
            # the slot is read on the ids the model generated, never on a decoded and re-encoded text
            p = self._p_yes(video, [r + ids for r, (ids, _) in zip(prompts, slots)])
        else:
            generated, slots, p = self._naive_reason(video, prompts)
        outputs = [self._cut(self.tokenizer.decode(g, skip_special_tokens=True), ANSWER_OPEN) for g in generated]
        # in reason mode every answer carries its reason text, even when the model wrote no tags
        return [RawAnswer(q.id, pi, reason=parse_output(o).reason or o.strip(), forced=f, output=o)
                for q, pi, o, (_, f) in zip(questions, p, outputs, slots)]

    def explain(self, clip: VideoClip, questions: Sequence[Question], answers: Sequence[str]) -> list[str]:
        users = [user_text(q.text) + f"\nThe correct answer is {a.capitalize()}. Explain why in one sentence."
                 for q, a in zip(questions, answers)]
        video = self._video_inputs(clip)
        outs = self._generate_ids(video, self._rows(video, users, ["<think>"] * len(users)), "</think>")
        return [self.tokenizer.decode(o, skip_special_tokens=True).split("</think>")[0].strip() for o in outs]

    def p_yes(self, clip: VideoClip, users: Sequence[str], prefixes: Sequence[str]) -> list[float]:
        """P(yes) at the end of each (user text, assistant prefix); a prefix ending in `<answer>` is read exactly
        (the merged-token path included), any other is read off the next-token distribution alone."""
        video = self._video_inputs(clip)
        return self._p_yes(video, self._rows(video, users, prefixes))

    def slot_logprobs(self, clip: VideoClip, users: Sequence[str], prefixes: Sequence[str]) -> torch.Tensor:
        """Next-token log-probabilities (n, vocab) at the end of each prompt, in float64 (a float32 sum over
        151,665 tokens is off by about 2e-4)."""
        return self.slot_distributions(clip, users, prefixes)[1]

    def slot_distributions(self, clip: VideoClip, users: Sequence[str], prefixes: Sequence[str]):
        """(before, at): next-token log-probabilities (n, vocab) before and at each prompt's last token."""
        video = self._video_inputs(clip)
        return self._last_two_logprobs(video, self._rows(video, users, prefixes))

    def _p_yes(self, video: dict, rows: list[list[int]]) -> list[float]:
        before, at = self._last_two_logprobs(video, rows)
        ends = torch.tensor([r[-1] == self.slot.last for r in rows], device=at.device)
        return torch.sigmoid(slot_log_odds(self.slot, before, at, ends)).tolist()  # = P(yes) / (P(yes) + P(no))

    @torch.inference_mode()
    def _last_two_logprobs(self, video: dict, rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.shared_prefix:
            pairs = [self._naive_last_logprobs(r, video) for r in rows]
        else:
            prefix = self._prefix_for(video, rows)
            suffixes = [r[prefix.length:] for r in rows]
            pairs = [self._suffix_last_logprobs(prefix, suffixes[i:i + self.suffix_batch])
                     for i in range(0, len(rows), self.suffix_batch)]
        return torch.cat([b for b, _ in pairs]), torch.cat([a for _, a in pairs])

    @torch.inference_mode()
    def _generate_ids(self, video: dict, rows: list[list[int]], stop: str) -> list[list[int]]:
        """Greedy continuation ids of each prompt row, up to the token that completes `stop` (end of turn left out)."""
        if not self.shared_prefix:
            return [self._naive_generate(r, video, stop) for r in rows]
        prefix = self._prefix_for(video, rows)
        suffixes = [r[prefix.length:] for r in rows]
        out: list[list[int]] = []
        for i in range(0, len(rows), self.suffix_batch):
            out += self._greedy_from_prefix(prefix, suffixes[i:i + self.suffix_batch], stop)
        return out

    def _slot_ids(self, generated: list[int]) -> tuple[list[int], bool]:
        """The model's own ids up to the answer slot, ending in the slot's last token; forced when it wrote none.

        A model that wrote `<answer>No` emitted `<` `answer` `>No`: the slot keeps `<` `answer` and appends `>`,
        so the merged path is read where the model chose between `>No` and `>`.
        """
        head = ANSWER_OPEN[: len(ANSWER_OPEN) - len(self.tokenizer.decode([self.slot.last]))]
        if not head:  # the whole tag is one token in this vocabulary: the slot ends where the model wrote it
            if self.slot.last in generated:
                return generated[:generated.index(self.slot.last) + 1], False
            return generated + [self.slot.last], True
        for j in range(1, len(generated) + 1):
            text = self.tokenizer.decode(generated[:j])
            if head in text:
                if text.endswith(head):
                    return generated[:j] + [self.slot.last], False
                break  # no token boundary before the slot's last token: fall back to the text
        else:
            return generated + self._encode(ANSWER_OPEN), True
        slot_text, forced = text_before_answer_slot(self.tokenizer.decode(generated))
        return self._encode(slot_text), forced

    def _encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    # ---- inputs -----------------------------------------------------------------------------

    def _chat_texts(self, users: Sequence[str], prefixes: Sequence[str]) -> list[str]:
        return [chat_text(self.processor, u, a) for u, a in zip(users, prefixes)]

    def _rows(self, video: dict, users: Sequence[str], prefixes: Sequence[str]) -> list[list[int]]:
        """Token ids of each chat prompt, its video placeholder expanded to this video's tokens."""
        return self._token_rows(self._chat_texts(users, prefixes), video["n_video_tokens"])

    def _video_inputs(self, clip: VideoClip) -> dict:
        """Run the processor once for this video; its tensors (and its prefix cache) serve every question."""
        text = self._chat_texts([user_text("")], [""])[0]  # the part every question shares
        enc = process(self.processor, [text], [clip])
        return {
            "pixel_values_videos": enc["pixel_values_videos"].to(self.device, self.dtype),
            "video_grid_thw": enc["video_grid_thw"].to(self.device),
            "second_per_grid_ts": torch.as_tensor(enc["second_per_grid_ts"], device=self.device),
            "n_video_tokens": int((enc["input_ids"] == self.video_token_id).sum()),
            "prefix": None,  # filled by _prefix_for, reused by later calls on this video
            "anchor": enc["input_ids"][0].tolist(),  # tokens of the shared part, bounds the prefix
        }

    def _token_rows(self, texts: Sequence[str], n_video_tokens: int) -> list[list[int]]:
        # The processor expands the one video placeholder into its n tokens; we do the same text edit
        # for every question so that the video is processed once, not once per question.
        pad = "<|video_pad|>"
        expanded = [t.replace(pad, pad * n_video_tokens, 1) for t in texts]
        return self.tokenizer(expanded, add_special_tokens=False)["input_ids"]

    def _mm_types(self, ids: torch.Tensor) -> torch.Tensor:
        return mm_token_type_ids(ids, self.video_token_id)

    # ---- naive path: every prompt from scratch, the model computes its own positions ---------

    def _naive_forward(self, ids: list[int], video: dict):
        x = torch.tensor([ids], device=self.device)
        return self.model(input_ids=x, attention_mask=torch.ones_like(x), mm_token_type_ids=self._mm_types(x),
                          pixel_values_videos=video["pixel_values_videos"], video_grid_thw=video["video_grid_thw"],
                          second_per_grid_ts=video["second_per_grid_ts"], logits_to_keep=2, use_cache=False)

    def _naive_last_logprobs(self, ids: list[int], video: dict) -> tuple[torch.Tensor, torch.Tensor]:
        self.model.model.rope_deltas = None  # never reuse another video's positions
        logp = torch.log_softmax(self._naive_forward(ids, video).logits[0].double(), dim=-1)
        return logp[-2:-1], logp[-1:]

    def _naive_generate(self, ids: list[int], video: dict, stop: str) -> list[int]:
        return self._until(self._hf_generate(ids, video, stop).sequences[0, len(ids):].tolist(), stop)

    def _hf_generate(self, ids: list[int], video: dict, stop: str):
        self.model.model.rope_deltas = None
        x = torch.tensor([ids], device=self.device)
        return self.model.generate(
            input_ids=x, attention_mask=torch.ones_like(x), mm_token_type_ids=self._mm_types(x),
            pixel_values_videos=video["pixel_values_videos"], video_grid_thw=video["video_grid_thw"],
            second_per_grid_ts=video["second_per_grid_ts"], max_new_tokens=self.max_new_tokens, do_sample=False,
            stop_strings=[stop], tokenizer=self.tokenizer, pad_token_id=self.pad_id,
            eos_token_id=sorted(self.eos_ids), suppress_tokens=[self.video_token_id], return_dict_in_generate=True,
        )

    @torch.inference_mode()
    def _naive_reason(self, video: dict, prompts: list[list[int]]):
        """The per-question baseline of reason mode: transformers' generate, then the slot's last two tokens as one
        short step from that question's own cache (no second pass over the video)."""
        generated, slots, p = [], [], []
        for ids in prompts:
            out = self._hf_generate(ids, video, ANSWER_OPEN)
            everything = out.sequences[0, len(ids):].tolist()
            gen = self._until(everything, ANSWER_OPEN)
            slot, forced = self._slot_ids(gen)
            row = ids + slot
            cache = out.cache  # holds every token but the last one sampled
            fed = len(ids) + len(everything) - 1
            keep = min(fed, len(ids) + common_prefix_length([slot, everything]), len(row) - 2)
            cache.crop(keep - fed)
            first = torch.tensor([ids], device=self.device)
            _, delta = self.model.model.get_rope_index(first, mm_token_type_ids=self._mm_types(first),
                                                       video_grid_thw=video["video_grid_thw"],
                                                       second_per_grid_ts=video["second_per_grid_ts"])
            step = torch.tensor([row[keep:]], device=self.device)
            pos = (torch.arange(keep, len(row), device=self.device) + int(delta.reshape(-1)[0])).view(1, 1, -1).expand(3, 1, -1)
            logits = self.model(input_ids=step, position_ids=pos, cache=cache, use_cache=True, logits_to_keep=2).logits
            logp = torch.log_softmax(logits[0].double(), dim=-1)
            ends = torch.tensor([row[-1] == self.slot.last], device=logp.device)
            p.append(torch.sigmoid(slot_log_odds(self.slot, logp[0:1], logp[1:2], ends)).item())
            generated.append(gen)
            slots.append((slot, forced))
        return generated, slots, p

    # ---- shared prefix ----------------------------------------------------------------------

    def _prefix_for(self, video: dict, rows: list[list[int]]) -> _Prefix:
        """The video's prefilled prefix, reused when these rows start with it, else prefilled anew."""
        cached = video["prefix"]
        if cached is not None and all(len(r) > cached.length and r[:cached.length] == cached.tokens for r in rows):
            return cached
        video["prefix"] = self._prefill(rows + [video["anchor"]], video)
        return video["prefix"]

    def _prefill(self, rows: list[list[int]], video: dict) -> _Prefix:
        p = common_prefix_length(rows)
        p = min(p, min(len(r) for r in rows[:-1]) - 2)  # every prompt keeps its last two tokens as suffix (the slot)
        first = torch.tensor([rows[0]], device=self.device)
        positions, delta = self.model.model.get_rope_index(
            first, mm_token_type_ids=self._mm_types(first), video_grid_thw=video["video_grid_thw"],
            second_per_grid_ts=video["second_per_grid_ts"],
        )
        video_end = max(i for i, t in enumerate(rows[0]) if t == self.video_token_id)
        if p <= video_end:
            raise ValueError("the prompts differ before the end of the video; they cannot share a prefix")
        prefix = first[:, :p]
        out = self.model(input_ids=prefix, mm_token_type_ids=self._mm_types(prefix),
                         position_ids=positions[:, :, :p], pixel_values_videos=video["pixel_values_videos"],
                         video_grid_thw=video["video_grid_thw"], second_per_grid_ts=video["second_per_grid_ts"],
                         use_cache=True, logits_to_keep=1)
        return _Prefix(cache=out.cache, length=p, rope_delta=int(delta.reshape(-1)[0]), tokens=rows[0][:p])

    def _expanded_cache(self, prefix: _Prefix, batch: int):
        return shared_view(prefix.cache, batch)

    def _suffix_batch(self, prefix: _Prefix, suffixes: list[list[int]]):
        """Right-padded suffix ids, their M-RoPE positions, an attention mask, and last real index."""
        width = max(len(s) for s in suffixes)
        ids = torch.full((len(suffixes), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(suffixes), prefix.length + width), dtype=torch.long)
        mask[:, :prefix.length] = 1
        for i, s in enumerate(suffixes):
            ids[i, :len(s)] = torch.tensor(s)
            mask[i, prefix.length:prefix.length + len(s)] = 1
        pos = torch.arange(prefix.length, prefix.length + width) + prefix.rope_delta
        pos = pos.view(1, 1, -1).expand(3, len(suffixes), -1)
        last = torch.tensor([len(s) - 1 for s in suffixes])
        return ids.to(self.device), pos.to(self.device), mask.to(self.device), last.to(self.device)

    def _suffix_last_logprobs(self, prefix: _Prefix, suffixes: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """(before, at) next-token log-probs at each suffix's last two tokens."""
        if self.model.config._attn_implementation in ("sdpa", "eager"):
            return self._packed_last_logprobs(prefix, suffixes)
        return self._batched_last_logprobs(prefix, suffixes)  # e.g. flash attention: no custom masks

    def _packed_last_logprobs(self, prefix: _Prefix, suffixes: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        """All suffixes as one row after the prefix, each seeing the prefix and itself (a block mask).

        No padding and no copies of the prefix cache per question: at 7B the cache repeated 20 times
        would be about 1.2 GB. The slot's two rows per question come out of the same pass.
        """
        lengths = [len(s) for s in suffixes]
        ids = torch.tensor([[t for s in suffixes for t in s]], device=self.device)
        ends = torch.tensor(lengths).cumsum(0) - 1
        pos, allowed = packed_suffixes(prefix.length, lengths, prefix.rope_delta)
        pos, allowed = pos.view(1, 1, -1).expand(3, 1, -1).to(self.device), allowed.to(self.device)
        if self.model.config._attn_implementation == "eager":  # eager adds the mask; sdpa takes booleans
            mask = torch.zeros(allowed.shape, dtype=self.dtype, device=self.device).masked_fill(~allowed, torch.finfo(self.dtype).min)
        else:
            mask = allowed
        keep = torch.stack([ends - 1, ends], dim=1).reshape(-1).to(self.device)
        out = self.model(input_ids=ids, position_ids=pos, attention_mask=mask[None, None], use_cache=True,
                         cache=self._expanded_cache(prefix, 1), logits_to_keep=keep)
        logp = torch.log_softmax(out.logits[0].double(), dim=-1).view(len(suffixes), 2, -1)
        return logp[:, 0], logp[:, 1]

    def _batched_last_logprobs(self, prefix: _Prefix, suffixes: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        ids, pos, _, last = self._suffix_batch(prefix, suffixes)
        # Right padding needs no mask: attention is causal, so pads only follow the tokens we read.
        hidden = self.model.model(input_ids=ids, position_ids=pos, cache=self._expanded_cache(prefix, len(suffixes)),
                                  use_cache=True).last_hidden_state
        rows = torch.arange(len(suffixes), device=hidden.device)
        picked = torch.stack([hidden[rows, last - 1], hidden[rows, last]], dim=1)  # lm_head on two rows each only
        logp = torch.log_softmax(self.model.lm_head(picked).double(), dim=-1)
        return logp[:, 0], logp[:, 1]

    def _greedy_from_prefix(self, prefix: _Prefix, suffixes: list[list[int]], stop: str) -> list[list[int]]:
        # Hand-written greedy loop: HF generate cannot continue a shared multimodal prefix cache with
        # explicit M-RoPE positions per row.
        ids, pos, mask, last = self._suffix_batch(prefix, suffixes)
        n = len(suffixes)
        cache = preallocated(prefix.cache, n, prefix.length + ids.shape[1] + self.max_new_tokens)
        out = self.model(input_ids=ids, position_ids=pos, attention_mask=mask, cache=cache, use_cache=True,
                         logits_to_keep=last.view(-1, 1))
        cache = out.cache
        logits = out.logits[:, -1]
        next_pos = prefix.length + last + 1 + prefix.rope_delta
        generated: list[list[int]] = [[] for _ in range(n)]
        done = [False] * n
        suppress = self.video_token_id
        for _ in range(self.max_new_tokens):
            logits[:, suppress] = -math.inf
            tok = logits.argmax(dim=-1)
            for i in range(n):
                if done[i]:
                    continue
                t = int(tok[i])
                if t in self.eos_ids:
                    done[i] = True
                    continue
                generated[i].append(t)
                if stop in self.tokenizer.decode(generated[i]):
                    done[i] = True
            if all(done):
                break
            mask = torch.cat([mask, torch.ones((n, 1), dtype=mask.dtype, device=mask.device)], dim=1)
            step_pos = next_pos.view(1, -1, 1).expand(3, -1, 1)
            out = self.model(input_ids=tok.view(-1, 1), position_ids=step_pos, attention_mask=mask, cache=cache,
                             use_cache=True)
            cache, logits, next_pos = out.cache, out.logits[:, -1], next_pos + 1
        return generated

    def _until(self, ids: list[int], stop: str) -> list[int]:
        """`ids` up to the token that completes `stop`, and without end-of-turn tokens."""
        out: list[int] = []
        for t in ids:
            if t in self.eos_ids:
                break
            out.append(t)
            if stop in self.tokenizer.decode(out):
                break
        return out

    @staticmethod
    def _cut(text: str, stop: str) -> str:
        i = text.find(stop)
        return text if i < 0 else text[: i + len(stop)]
