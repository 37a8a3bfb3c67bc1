"""SFT batches: the real processor's video tensors, token ids that match scoring, loss on the answer turn only.

Three silent failures this module exists to avoid (docs/training.md and below):
- TRL's SFTTrainer treats a dataset without an `image`/`images` column as text: `<|video_pad|>` would be
  embedded as a plain token and the video never reach the model. We build every batch here, through
  `fingereval.answer.inputs.process`, so `pixel_values_videos`, `video_grid_thw`, `second_per_grid_ts`
  and `mm_token_type_ids` always go to the forward.
- An assistant mask from the chat template needs generation markers, which Qwen's template lacks (the
  mask comes back all zeros and the loss is 0.0). We mask by length instead: every token of the prompt
  (tokenised exactly as the answerer tokenises it, `chat_text`) is masked.
- Targets are tokenised exactly as the tokenizer tokenises the whole text, as TRL and every other trainer
  does: on Qwen's vocabulary `<answer>No` is `<` `answer` `>No` and `<answer>Yes` is `<` `answer` `>` `Yes`.
  The answerer reads both paths (fingereval.answer.tokens.AnswerSlot), so a checkpoint trained here and
  one trained elsewhere are read the same way.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from fingereval.answer.format import target_text, user_text
from fingereval.answer.hf_compat import rope_index_with
from fingereval.answer.inputs import (VIDEO_PAD, chat_text, common_prefix_length, mm_token_type_ids,
                                      packed_suffixes, process)
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
        # The processor gives the video tensors (frames with their real sampled fps); the ids are ours.
        video = process(self.processor, prompts, [self.clips(r["video"]) for r in rows])
        merge = self.processor.video_processor.merge_size
        sequences, prompt_lengths = [], []
        for prompt, row, grid in zip(prompts, rows, video["video_grid_thw"]):
            ids, n_prompt = self.token_ids(prompt, assistant_text(row, self.reason), video_token_count(grid, merge))
            sequences.append(ids)
            prompt_lengths.append(n_prompt)
        return with_video(padded_batch(sequences, prompt_lengths, self.pad_id), video, self.video_id, merge)

    @property
    def video_id(self) -> int:
        return self.processor.tokenizer.convert_tokens_to_ids(VIDEO_PAD)

    @property
    def pad_id(self) -> int:
        pad = self.processor.tokenizer.pad_token_id
        return pad if pad is not None else 0

    def token_ids(self, prompt: str, assistant: str, n_video_tokens: int) -> tuple[list[int], int]:
        """(ids of prompt + assistant turn tokenised as one text, number of prompt ids)."""
        # The processor expands the one placeholder into the clip's tokens; do the same text edit.
        prompt = prompt.replace(VIDEO_PAD, VIDEO_PAD * n_video_tokens, 1)
        prompt_ids = self._encode(prompt)
        ids = self._encode(prompt + assistant)
        if ids[:len(prompt_ids)] != prompt_ids:
            raise ValueError("the assistant turn merges with the prompt's last token; the loss mask would be wrong")
        return ids, len(prompt_ids)

    def _encode(self, text: str) -> list[int]:
        return self.processor.tokenizer(text, add_special_tokens=False)["input_ids"]

    def length(self, row: Mapping) -> int:
        """Text tokens of `row` (its video's tokens left out: they are the same for every clip of a size)."""
        row = without_none(row)
        return len(self.token_ids(prompt_text(self.processor, row["question"]), assistant_text(row, self.reason), 0)[0])


def with_video(batch: dict, video: Mapping, video_id: int, merge_size: int) -> dict:
    """`batch` plus the processor's video tensors and mm_token_type_ids (3-D positions), after checking that
    every row holds exactly as many video tokens as its clip gives: a mismatch would misplace the frames."""
    want = [video_token_count(g, merge_size) for g in video["video_grid_thw"]]
    if [int((row == video_id).sum()) for row in batch["input_ids"]] != want:
        raise ValueError("our token ids and the processor disagree on the number of video tokens")
    batch["mm_token_type_ids"] = mm_token_type_ids(batch["input_ids"], video_id)
    batch["pixel_values_videos"] = video["pixel_values_videos"]
    batch["video_grid_thw"] = video["video_grid_thw"]
    batch["second_per_grid_ts"] = torch.as_tensor(video["second_per_grid_ts"], dtype=torch.float32)
    return batch


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


# ---- one video, all its questions, one row -------------------------------------------------

def video_groups(rows: Sequence[Mapping]) -> list[dict]:
    """Flat question rows -> one row per video: {video, items: [{question, answer, reason}, ...]}."""
    groups: dict[str, dict] = {}
    for r in rows:
        g = groups.setdefault(r["video"], {"video": r["video"], "items": []})
        g["items"].append({k: r.get(k) for k in ("question", "answer", "reason")})
    return list(groups.values())


@dataclass
class PackedSFTCollator(SFTCollator):
    """Rows {video, items} -> one packed row per video, laid out exactly as shared-prefix scoring reads it.

    The shared prefix (system turn, the video, the instruction) appears once; each question's suffix
    (question, assistant turn) follows it, seeing the prefix and itself only (a block attention mask),
    at the positions the answerer gives it (prefix end + rope delta). A video's 5-10 questions then cost
    one pass of the vision tower and of the prefix instead of 5-10, with no train/score mismatch.
    `rope_index` is the model's own position rule (fingereval.answer.hf_compat.rope_index_fn), so prefix
    positions are the model's.
    """

    rope_index: object = None

    def __call__(self, rows: Sequence[Mapping]) -> dict[str, torch.Tensor]:
        firsts = [prompt_text(self.processor, g["items"][0]["question"]) for g in rows]
        video = process(self.processor, firsts, [self.clips(g["video"]) for g in rows])
        merge = self.processor.video_processor.merge_size
        packed = [self.pack(g, grid, video["second_per_grid_ts"][i])
                  for i, (g, grid) in enumerate(zip(rows, video["video_grid_thw"]))]
        width = max(len(p["ids"]) for p in packed)
        n = len(packed)
        batch = {
            "input_ids": torch.full((n, width), self.pad_id, dtype=torch.long),
            "labels": torch.full((n, width), IGNORE_INDEX, dtype=torch.long),
            "position_ids": torch.zeros((3, n, width), dtype=torch.long),
            "attention_mask": torch.eye(width, dtype=torch.bool).repeat(n, 1, 1, 1),  # pads see themselves: no NaN rows
        }
        for i, p in enumerate(packed):
            k = len(p["ids"])
            batch["input_ids"][i, :k] = torch.tensor(p["ids"])
            batch["labels"][i, :k] = torch.tensor(p["labels"])
            batch["position_ids"][:, i, :k] = p["positions"]
            batch["attention_mask"][i, 0, :k, :k] = p["allowed"]
        return with_video(batch, video, self.video_id, merge)

    def sequences(self, group: Mapping, n_video_tokens: int) -> list[tuple[list[int], int]]:
        """(ids, prompt length) of each question of the video, as if it were alone in its row."""
        return [self.token_ids(prompt_text(self.processor, it["question"]), assistant_text(without_none(it), self.reason),
                               n_video_tokens) for it in group["items"]]

    def length(self, group: Mapping) -> int:
        """Text tokens of the packed row: the shared prefix once, then every question's suffix."""
        seqs = [ids for ids, _ in self.sequences(group, 0)]
        p = common_prefix_length(seqs)
        return p + sum(len(s) - p for s in seqs)

    def pack(self, group: Mapping, grid: torch.Tensor, second_per_grid: float) -> dict:
        """ids, labels, 3-D positions and the boolean attention pattern of one video's packed row."""
        merge = self.processor.video_processor.merge_size
        n_video = video_token_count(grid, merge)
        seqs = self.sequences(group, n_video)
        p = common_prefix_length([s for s, _ in seqs])
        # every suffix keeps at least one untrained prompt token, so that the shifted loss never reads
        # a suffix's first trained token off the end of the suffix before it
        p = min([p] + [n_prompt - 1 for _, n_prompt in seqs])
        ids = torch.tensor([seqs[0][0][:p]])
        positions, delta = rope_index_with(self.rope_index, ids, mm_token_type_ids(ids, self.video_id), grid.view(1, 3),
                                           torch.tensor([second_per_grid], dtype=torch.float32))
        if int((ids == self.video_id).sum()) != n_video:
            raise ValueError("the questions of a video differ before the end of its video tokens")
        out_ids, labels, lengths = list(seqs[0][0][:p]), [IGNORE_INDEX] * p, []
        for s, n_prompt in seqs:
            tail = s[p:]
            out_ids += tail
            labels += [IGNORE_INDEX] * (n_prompt - p) + tail[n_prompt - p:]
            lengths.append(len(tail))
        suffix_pos, suffix_allowed = packed_suffixes(p, lengths, delta)  # the answerer's layout
        k = len(out_ids)
        allowed = torch.zeros((k, k), dtype=torch.bool)
        allowed[:p, :p] = torch.tril(torch.ones((p, p), dtype=torch.bool))
        allowed[p:] = suffix_allowed
        pos = torch.cat([positions[:, 0, :p], suffix_pos.view(1, -1).expand(3, -1)], dim=1)
        return {"ids": out_ids, "labels": labels, "positions": pos, "allowed": allowed}

