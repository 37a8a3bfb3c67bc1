"""SFT batches: the real processor's video tensors, token ids that match scoring, loss on the answer turn only.

Three silent failures this module exists to avoid (../shared/PITFALLS.md and below):
- TRL's SFTTrainer treats a dataset without an `image`/`images` column as text: `<|video_pad|>` would be
  embedded as a plain token and the video never reach the model. We build every batch here, through
  `fingereval.answer.inputs.process`, so `pixel_values_videos`, `video_grid_thw`, `second_per_grid_ts`
  and `mm_token_type_ids` always go to the forward.
- An assistant mask from the chat template needs generation markers, which Qwen's template lacks (the
  mask comes back all zeros and the loss is 0.0). We mask by length instead: every token of the prompt
  (tokenised exactly as the answerer tokenises it, `chat_text`) is masked.
- BPE merges across the answer slot: Qwen's pre-tokenizer splits `<answer>Yes` into `<answer` + `>Yes`,
  so a target tokenised in one piece never puts `Yes` right after the `>` that ends the answerer's
  scoring prefix. The model would learn `>Yes` while the answerer reads the token after `<answer>`: the
  loss falls and p_yes stays at chance. We tokenise up to and including `<answer>` with the prompt (as
  the answerer does) and the answer word onwards separately, so training and scoring see the same ids.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from fingereval.answer.format import ANSWER_OPEN, target_text, user_text
from fingereval.answer.inputs import VIDEO_PAD, chat_text, mm_token_type_ids, process
from fingereval.train.examples import ClipCache, without_none

IGNORE_INDEX = -100
END_OF_TURN = "<|im_end|>"  # trained too, so that generation stops after </answer>


def prompt_text(processor, question: str) -> str:
    """The prompt the answerer sees in reason mode: video, instruction, question, assistant turn start."""
    return chat_text(processor, user_text(question))


def assistant_text(row: Mapping, reason: bool) -> str:
    return target_text(row["answer"], row.get("reason") if reason else None) + END_OF_TURN


def split_at_answer_slot(text: str) -> tuple[str, str]:
    """('...<answer>', 'Yes</answer>...'): the part the answerer tokenises with the prompt, and the rest."""
    cut = text.index(ANSWER_OPEN) + len(ANSWER_OPEN)
    return text[:cut], text[cut:]


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
        # The processor gives the video tensors (frames with their real sampled fps); the ids are ours.
        video = process(self.processor, prompts, [self.clips(r["video"]) for r in rows])
        merge = self.processor.video_processor.merge_size
        sequences, prompt_lengths = [], []
        for prompt, row, grid in zip(prompts, rows, video["video_grid_thw"]):
            ids, n_prompt = self.token_ids(prompt, assistant_text(row, self.reason), video_token_count(grid, merge))
            sequences.append(ids)
            prompt_lengths.append(n_prompt)
        batch = padded_batch(sequences, prompt_lengths, self.pad_id)
        batch["mm_token_type_ids"] = mm_token_type_ids(batch["input_ids"], self.video_id)
        if not torch.equal((batch["input_ids"] == self.video_id).sum(), (video["input_ids"] == self.video_id).sum()):
            raise ValueError("our token ids and the processor disagree on the number of video tokens")
        batch["pixel_values_videos"] = video["pixel_values_videos"]
        batch["video_grid_thw"] = video["video_grid_thw"]
        batch["second_per_grid_ts"] = torch.as_tensor(video["second_per_grid_ts"], dtype=torch.float32)
        return batch

    @property
    def video_id(self) -> int:
        return self.processor.tokenizer.convert_tokens_to_ids(VIDEO_PAD)

    @property
    def pad_id(self) -> int:
        pad = self.processor.tokenizer.pad_token_id
        return pad if pad is not None else 0

    def token_ids(self, prompt: str, assistant: str, n_video_tokens: int) -> tuple[list[int], int]:
        """(ids of prompt + assistant turn, number of prompt ids), split at the answer slot like scoring."""
        # The processor expands the one placeholder into the clip's tokens; do the same text edit.
        prompt = prompt.replace(VIDEO_PAD, VIDEO_PAD * n_video_tokens, 1)
        up_to_slot, after_slot = split_at_answer_slot(assistant)
        prompt_ids = self._encode(prompt)
        head = self._encode(prompt + up_to_slot)
        if head[:len(prompt_ids)] != prompt_ids:
            raise ValueError("the assistant turn merges with the prompt's last token; the loss mask would be wrong")
        return head + self._encode(after_slot), len(prompt_ids)

    def _encode(self, text: str) -> list[int]:
        return self.processor.tokenizer(text, add_special_tokens=False)["input_ids"]


def padded_batch(sequences: Sequence[Sequence[int]], prompt_lengths: Sequence[int], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-padded input_ids, attention_mask, and labels that are IGNORE_INDEX on prompts and padding."""
    width = max(len(s) for s in sequences)
    input_ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(sequences), width), dtype=torch.long)
    labels = torch.full((len(sequences), width), IGNORE_INDEX, dtype=torch.long)
    for i, (ids, n_prompt) in enumerate(zip(sequences, prompt_lengths)):
        if len(ids) <= n_prompt:
            raise ValueError("a training sequence has no assistant tokens after its prompt")
        input_ids[i, :len(ids)] = torch.tensor(ids)
        attention_mask[i, :len(ids)] = 1
        labels[i, n_prompt:len(ids)] = input_ids[i, n_prompt:len(ids)]
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}
