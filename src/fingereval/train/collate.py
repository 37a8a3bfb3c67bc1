"""SFT batches: the real processor on chat text + decoded frames, loss on the assistant turn only.

Two silent failures this module exists to avoid (../shared/PITFALLS.md):
- TRL's SFTTrainer treats a dataset without an `image`/`images` column as text: `<|video_pad|>` would be
  embedded as a plain token and the video never reach the model. We build every batch here, through
  `fingereval.answer.inputs.process`, so `pixel_values_videos`, `video_grid_thw`, `second_per_grid_ts`
  and `mm_token_type_ids` always go to the forward.
- An assistant mask from the chat template needs generation markers, which Qwen's template lacks (the
  mask comes back all zeros and the loss is 0.0). We mask by length instead: the prompt is tokenised
  exactly as the answerer tokenises it (`chat_text`), and every token before its end is masked.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from fingereval.answer.format import target_text, user_text
from fingereval.answer.inputs import VIDEO_PAD, chat_text, mm_token_type_ids, process
from fingereval.train.examples import ClipCache, without_none

IGNORE_INDEX = -100
END_OF_TURN = "<|im_end|>"  # trained too, so that generation stops after </answer>


def prompt_text(processor, question: str) -> str:
    """The prompt the answerer sees in reason mode: video, instruction, question, assistant turn start."""
    return chat_text(processor, user_text(question))


def assistant_text(row: Mapping, reason: bool) -> str:
    return target_text(row["answer"], row.get("reason") if reason else None) + END_OF_TURN


def video_token_count(video_grid_thw: torch.Tensor, merge_size: int) -> int:
    return int(video_grid_thw.prod()) // (merge_size * merge_size)


@dataclass
class SFTCollator:
    """Rows {video, question, answer, reason} -> model inputs with labels on the assistant turn only."""

    processor: object
    clips: ClipCache
    reason: bool = True

    def __call__(self, rows: Sequence[Mapping]) -> dict[str, torch.Tensor]:
        rows = [without_none(r) for r in rows]
        prompts = [prompt_text(self.processor, r["question"]) for r in rows]
        texts = [p + assistant_text(r, self.reason) for p, r in zip(prompts, rows)]
        enc = process(self.processor, texts, [self.clips(r["video"]) for r in rows])
        batch = {k: v for k, v in enc.items()}
        tokenizer = self.processor.tokenizer
        video_id = tokenizer.convert_tokens_to_ids(VIDEO_PAD)
        if "mm_token_type_ids" not in batch:
            batch["mm_token_type_ids"] = mm_token_type_ids(batch["input_ids"], video_id)
        batch["second_per_grid_ts"] = torch.as_tensor(batch["second_per_grid_ts"], dtype=torch.float32)
        merge = self.processor.video_processor.merge_size
        prompt_ids = [self._prompt_ids(p, video_token_count(g, merge)) for p, g in zip(prompts, enc["video_grid_thw"])]
        batch["labels"] = assistant_labels(batch["input_ids"], batch["attention_mask"], prompt_ids)
        return batch

    def _prompt_ids(self, prompt: str, n_video_tokens: int) -> list[int]:
        # The processor expands the one placeholder into the clip's tokens; do the same edit to count them.
        expanded = prompt.replace(VIDEO_PAD, VIDEO_PAD * n_video_tokens, 1)
        return self.processor.tokenizer(expanded, add_special_tokens=False)["input_ids"]


def assistant_labels(input_ids: torch.Tensor, attention_mask: torch.Tensor,
                     prompt_ids: Sequence[Sequence[int]]) -> torch.Tensor:
    """Labels equal to input_ids on the assistant turn, IGNORE_INDEX on the prompt and on padding.

    Works for left or right padding. Raises when a row does not start with its prompt's tokens (BPE
    merging across the prompt/answer boundary would shift the mask silently).
    """
    labels = torch.full_like(input_ids, IGNORE_INDEX)
    for i, prompt in enumerate(prompt_ids):
        real = attention_mask[i].nonzero().flatten()
        ids = input_ids[i, real]
        n = len(prompt)
        if ids[:n].tolist() != list(prompt):
            raise ValueError("a training sequence does not start with its prompt tokens; the assistant mask would be wrong")
        if len(ids) <= n:
            raise ValueError("a training sequence has no assistant tokens after its prompt")
        labels[i, real[n:]] = ids[n:]
    return labels
