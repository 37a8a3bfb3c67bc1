"""Answerer on transformers (Qwen2-VL / Qwen2.5-VL family), with shared-prefix scoring.

The parts live in their own modules: chat prompts as token ids (chat_tokens.py), a clip as the model's video
tensors (video_tensors.py), the shared-prefix engine that prefills a video once and branches every question off
it (engine.py), the naive baseline that runs each question from scratch (naive.py), the one stop rule of both
decoders (stopping.py), and loading (model_loading.py). This module puts them together behind `Answerer` and
reads the answer slot (tokens.py) off what the engine returns.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Sequence

import torch

from fingereval.answer.base import DEFAULT_MODEL, Answerer
from fingereval.answer.chat_tokens import ChatTokens, slot_ids
from fingereval.answer.engine import PrefixEngine
from fingereval.answer.format import ANSWER_OPEN, assistant_prefix, parse_output, user_text
from fingereval.answer.model_loading import load_model_and_processor, pick_device, pick_dtype
from fingereval.answer.naive import NaiveEngine
from fingereval.answer.stopping import StopRule
from fingereval.answer.tokens import answer_slot, slot_log_odds
from fingereval.answer.video_tensors import VideoTensors, prepare_clip, video_tensors
from fingereval.schema import Question, RawAnswer
from fingereval.video import VideoClip, VideoConfig

__all__ = ["TransformersAnswerer", "load_model_and_processor", "pick_device", "pick_dtype"]

EXPLAIN_STOP = "</think>"


class TransformersAnswerer(PrefixEngine, Answerer):
    """An answerer that is its own shared-prefix engine (`shared_prefix=True`) or runs the naive baseline.

    It is a PrefixEngine rather than holding one so that a test can plant a fault in the engine's steps on
    this class (tests/test_answer_transformers.py); the engine's code stays in engine.py. The engine methods it
    inherits always run the shared-prefix path: `engine` is what runs the model in the chosen mode.
    """

    name = "transformers"
    takes_image = True  # an image-to-video clip's image goes before the video, in the shared prefix

    def __init__(self, model: str | Path = DEFAULT_MODEL, *, device: str | None = None, dtype: str | None = None,
                 video_config: VideoConfig = VideoConfig(), shared_prefix: bool = True, suffix_batch: int = 16,
                 max_new_tokens: int = 128):
        self.model_id = str(model)
        device = pick_device(device)
        torch_dtype = pick_dtype(dtype, device)
        net, processor = load_model_and_processor(model, device, torch_dtype)
        self._setup(net, processor, device, torch_dtype, video_config, shared_prefix, suffix_batch, max_new_tokens)

    @classmethod
    def from_loaded(cls, model, processor, *, video_config: VideoConfig = VideoConfig(), shared_prefix: bool = True,
                    suffix_batch: int = 16, max_new_tokens: int = 128) -> "TransformersAnswerer":
        """An answerer on a model already in memory (a trainer's, or one built on the GPU for a benchmark)."""
        self = cls.__new__(cls)
        self.model_id = getattr(model, "name_or_path", "") or type(model).__name__
        self._setup(model.eval(), processor, str(model.device), model.dtype, video_config, shared_prefix,
                    suffix_batch, max_new_tokens)
        return self

    def _setup(self, net, processor, device: str, dtype: torch.dtype, video_config: VideoConfig, shared_prefix: bool,
               suffix_batch: int, max_new_tokens: int) -> None:
        pad = processor.tokenizer.pad_token_id
        pad_id = pad if pad is not None else 0
        PrefixEngine.__init__(self, net, pad_id=pad_id, suffix_batch=suffix_batch, device=device, dtype=dtype)
        self.baseline = NaiveEngine(net, pad_id=pad_id, device=device)
        self.processor, self.tokenizer = processor, processor.tokenizer
        self.chat = ChatTokens(processor)
        self.video_config = video_config
        self.shared_prefix = shared_prefix
        self.max_new_tokens = max_new_tokens
        self.slot = answer_slot(self.tokenizer, ANSWER_OPEN)
        self._spare_processors: list = []  # copies for prepare, one per thread running it at a time

    @property
    def engine(self) -> PrefixEngine | NaiveEngine:
        """What runs the model: this answerer's shared-prefix engine, or the naive baseline."""
        return self if self.shared_prefix else self.baseline

    # ---- public API -------------------------------------------------------------------------

    def answer(self, clip: VideoClip, questions: Sequence[Question], reason: bool = False) -> list[RawAnswer]:
        if not questions:
            return []
        users = [user_text(q.text) for q in questions]
        video = self.video_inputs(clip)
        if not reason:
            rows = self.prompt_rows(video, users, [assistant_prefix(False)] * len(users))
            return [RawAnswer(q.id, pi) for q, pi in zip(questions, self._p_yes(video, rows))]
        prompts = self.prompt_rows(video, users, [assistant_prefix(True)] * len(users))
        stop = self.stop_rule(ANSWER_OPEN)
        # the slot is read on the ids the model generated, never on a decoded and re-encoded text
        generated, slots, before, at = self.engine.generate_then_read(video, prompts, stop, self._slot_ids)
        p = self._read_p_yes([r + ids for r, (ids, _) in zip(prompts, slots)], before, at)
        outputs = [stop.cut_text(self.tokenizer.decode(g, skip_special_tokens=True)) for g in generated]
        # in reason mode every answer carries its reason text, even when the model wrote no tags
        return [RawAnswer(q.id, pi, reason=parse_output(o).reason or o.strip(), forced=forced_answer, output=o)
                for q, pi, o, (_, forced_answer) in zip(questions, p, outputs, slots)]

    def prepare(self, clip: VideoClip) -> VideoClip:
        """The processor's tensors of `clip`, made on a decode-ahead thread while the model answers about another
        video (fingereval.decode_ahead); `answer` then skips that step. Each call runs on a copy of the processor
        no other thread holds: a fast tokenizer used from two threads at once can fail ("Already borrowed"). The
        copies are kept for later calls and batches (list pop and append are atomic)."""
        try:
            processor = self._spare_processors.pop()
        except IndexError:  # every copy is in use, or none was made yet
            processor = copy.deepcopy(self.processor)
        try:
            return prepare_clip(processor, clip, ChatTokens(processor).shared_text(clip.image is not None))
        finally:
            self._spare_processors.append(processor)

    def explain(self, clip: VideoClip, questions: Sequence[Question], answers: Sequence[str]) -> list[str]:
        users = [user_text(q.text) + f"\nThe correct answer is {a.capitalize()}. Explain why in one sentence."
                 for q, a in zip(questions, answers)]
        video = self.video_inputs(clip)
        stop = self.stop_rule(EXPLAIN_STOP)
        outs = self.engine.generate(video, self.prompt_rows(video, users, ["<think>"] * len(users)), stop)
        return [stop.text_before(self.tokenizer.decode(o, skip_special_tokens=True)).strip() for o in outs]

    def p_yes(self, clip: VideoClip, users: Sequence[str], prefixes: Sequence[str]) -> list[float]:
        """P(yes) at the end of each (user text, assistant prefix); a prefix ending in `<answer>` is read exactly
        (the merged-token path included), any other is read off the next-token distribution alone."""
        video = self.video_inputs(clip)
        return self._p_yes(video, self.prompt_rows(video, users, prefixes))

    def slot_logprobs(self, clip: VideoClip, users: Sequence[str], prefixes: Sequence[str]) -> torch.Tensor:
        """Next-token log-probabilities (n, vocab) at the end of each prompt, in float64 (a float32 sum over
        151,665 tokens is off by about 2e-4)."""
        return self.slot_distributions(clip, users, prefixes)[1]

    def slot_distributions(self, clip: VideoClip, users: Sequence[str], prefixes: Sequence[str]):
        """(before, at): next-token log-probabilities (n, vocab) before and at each prompt's last token."""
        video = self.video_inputs(clip)
        return self.engine.last_two_logprobs(video, self.prompt_rows(video, users, prefixes))

    # ---- inputs and the slot ----------------------------------------------------------------

    def video_inputs(self, clip: VideoClip) -> VideoTensors:
        """Run the processor once for this video (and its conditioning image); its tensors (and its prefix cache)
        serve every question."""
        return video_tensors(self.processor, clip, self.chat.shared_text(clip.image is not None),
                             video_token_id=self.video_token_id, image_token_id=self.image_token_id,
                             device=self.device, dtype=self.dtype)

    def prompt_rows(self, video: VideoTensors, users: Sequence[str], prefixes: Sequence[str]) -> list[list[int]]:
        """Token ids of each chat prompt, its video placeholder expanded to this video's tokens (and its image's)."""
        return self.chat.rows(users, prefixes, video.n_video_tokens, video.n_image_tokens)

    def stop_rule(self, text: str) -> StopRule:
        return StopRule.for_tokenizer(text, self.tokenizer, self.max_new_tokens)

    def _p_yes(self, video: VideoTensors, rows: list[list[int]]) -> list[float]:
        return self._read_p_yes(rows, *self.engine.last_two_logprobs(video, rows))

    def _read_p_yes(self, rows: list[list[int]], before: torch.Tensor, at: torch.Tensor) -> list[float]:
        ends = torch.tensor([r[-1] == self.slot.last for r in rows], device=at.device)
        return torch.sigmoid(slot_log_odds(self.slot, before, at, ends)).tolist()  # = P(yes) / (P(yes) + P(no))

    def _slot_ids(self, generated: list[int]) -> tuple[list[int], bool]:
        """The model's own ids up to the answer slot, and whether the slot was forced (fingereval.answer.chat_tokens)."""
        return slot_ids(self.tokenizer, self.slot, generated)

    # ---- the names the OpenAI stand-in server of the tests calls (tests/openai_server.py) ----

    def _video_inputs(self, clip: VideoClip) -> VideoTensors:
        return self.video_inputs(clip)

    def _token_rows(self, texts: Sequence[str], n_video_tokens: int, n_image_tokens: int = 0) -> list[list[int]]:
        return self.chat.token_rows(texts, n_video_tokens, n_image_tokens)

    def _last_two_logprobs(self, video: VideoTensors, rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
        return self.engine.last_two_logprobs(video, rows)

    def _generate_ids(self, video: VideoTensors, rows: list[list[int]], stop: str) -> list[list[int]]:
        return self.engine.generate(video, rows, self.stop_rule(stop))
