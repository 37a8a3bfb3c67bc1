"""The yes/no token sets read at the answer slot, built from the tokenizer's own vocabulary."""
from __future__ import annotations

import string
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # torch is imported where the tensors are read: the served answerer needs only the text helpers
    import torch

_STRIP = string.whitespace + string.punctuation + "\u201c\u201d\u2018\u2019\u00a0"


def normalize_token_text(text: str) -> str:
    return text.strip(_STRIP).lower()


def yes_no_token_ids(tokenizer) -> tuple[list[int], list[int]]:
    """Every vocabulary token that decodes, stripped of spaces, quotes and punctuation and lower-cased,
    to "yes" (first list) or "no" (second list): `Yes`, ` yes`, `"Yes`, `YES` all count."""
    special = set(tokenizer.all_special_ids)
    vocab = len(tokenizer)
    texts = tokenizer.batch_decode([[i] for i in range(vocab)], skip_special_tokens=False)
    yes, no = [], []
    for tid, text in enumerate(texts):
        if tid in special:
            continue
        norm = normalize_token_text(text)
        if norm == "yes":
            yes.append(tid)
        elif norm == "no":
            no.append(tid)
    if not yes or not no:
        raise ValueError("the tokenizer has no token spelling yes or no; it cannot score answers")
    return yes, no


@dataclass(frozen=True)
class AnswerSlot:
    """What the exact answer-slot reading needs from a tokenizer.

    The slot text ends with `<answer>`, whose last token (`>` on Qwen's vocabulary) can also arrive merged
    with the answer word: Qwen tokenizes `<answer>No` as `<` `answer` `>No` but `<answer>Yes` as
    `<` `answer` `>` `Yes`. p_yes marginalises over both paths: the merged tokens are read at the position
    before the slot's last token, the split path is P(last) x P(word | last).
    """

    last: int  # id of the slot's last token
    yes: tuple[int, ...]  # answer-word tokens after the slot
    no: tuple[int, ...]
    merged_yes: tuple[int, ...]  # the slot's last token and the answer word in one token
    merged_no: tuple[int, ...]


def answer_slot(tokenizer, slot_text: str) -> AnswerSlot:
    """The yes/no token sets of `tokenizer` and the merged forms of the last token of `slot_text`."""
    yes, no = yes_no_token_ids(tokenizer)
    last = tokenizer(slot_text, add_special_tokens=False)["input_ids"][-1]
    head = tokenizer.decode([last])
    merged_yes, merged_no = [], []
    for tid in yes + no:
        text = tokenizer.decode([tid])
        if len(text) > len(head) and text.startswith(head):
            word = normalize_token_text(text[len(head):])
            (merged_yes if word == "yes" else merged_no if word == "no" else []).append(tid)
    return AnswerSlot(last, tuple(yes), tuple(no), tuple(merged_yes), tuple(merged_no))


def slot_log_odds(slot: AnswerSlot, before: torch.Tensor, at: torch.Tensor, ends_with_slot: torch.Tensor) -> torch.Tensor:
    """log P(yes) - log P(no) per row, from next-token log-probs `before` and `at` the slot's last token.

    Rows whose prompt does not end with the slot's last token (`ends_with_slot` False) read `at` alone.
    """
    import torch

    split_yes = torch.logsumexp(at[:, list(slot.yes)], dim=-1)
    split_no = torch.logsumexp(at[:, list(slot.no)], dim=-1)
    if slot.merged_yes or slot.merged_no:
        p_last = before[:, slot.last]
        yes = _logaddexp_set(p_last + split_yes, before, slot.merged_yes)
        no = _logaddexp_set(p_last + split_no, before, slot.merged_no)
        split_yes = torch.where(ends_with_slot, yes, split_yes)
        split_no = torch.where(ends_with_slot, no, split_no)
    return split_yes - split_no


def _logaddexp_set(base: torch.Tensor, logp: torch.Tensor, ids: tuple[int, ...]) -> torch.Tensor:
    import torch

    if not ids:
        return base
    return torch.logaddexp(base, torch.logsumexp(logp[:, list(ids)], dim=-1))
