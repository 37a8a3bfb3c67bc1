"""The one stop rule of our decoders: the greedy loop off the shared prefix, transformers' `generate` (the naive
baseline) and the texts cut from what they wrote.

A continuation ends at an end-of-turn token, which is left out, at the token that completes the stop text,
which is kept even when it carries text past the stop (`>No` completes `<answer>`), or after `max_new_tokens`.
`generate` is stopped by this rule too (`stopping_criteria`), so no decoder has a rule of its own.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

END_OF_TURN = ("<|im_end|>", "<|endoftext|>")


class StopRule:
    """Where a continuation ends: at `end_of_turn` ids (left out), once its text holds `text` (kept), or after
    `max_new_tokens` tokens."""

    def __init__(self, text: str, end_of_turn: Iterable[int], tokenizer, max_new_tokens: int):
        self.text = text
        self.end_of_turn = frozenset(end_of_turn)
        self.tokenizer = tokenizer
        self.max_new_tokens = max_new_tokens

    @classmethod
    def for_tokenizer(cls, text: str, tokenizer, max_new_tokens: int) -> "StopRule":
        """The rule with the chat template's end-of-turn tokens of `tokenizer`."""
        return cls(text, {tokenizer.convert_tokens_to_ids(t) for t in END_OF_TURN}, tokenizer, max_new_tokens)

    def extend(self, generated: list[int], token: int) -> bool:
        """Append `token` to `generated` unless it ends the turn; whether the continuation is finished."""
        if token in self.end_of_turn:
            return True
        generated.append(token)
        return self.text in self.tokenizer.decode(generated)

    def cut(self, ids: Iterable[int]) -> list[int]:
        """`ids` up to where the rule ends them (the end-of-turn token left out)."""
        out: list[int] = []
        for token in ids:
            if self.extend(out, token):
                break
        return out

    def cut_text(self, text: str) -> str:
        """`text` up to and including the first stop text (a decoded last token may run past it)."""
        i = text.find(self.text)
        return text if i < 0 else text[: i + len(self.text)]

    def text_before(self, text: str) -> str:
        """`text` before the first stop text."""
        return text.split(self.text)[0]

    def stopping_criteria(self, prompt_length: int):
        """This rule as transformers' stopping criteria for `generate` over prompts of `prompt_length` ids."""
        from transformers import StoppingCriteria, StoppingCriteriaList

        rule = self

        class _Rule(StoppingCriteria):
            def __call__(self, input_ids, scores, **kwargs):
                import torch

                return torch.tensor([rule.finished(row[prompt_length:].tolist()) for row in input_ids],
                                    dtype=torch.bool, device=input_ids.device)

        return StoppingCriteriaList([_Rule()])

    def finished(self, ids: Sequence[int]) -> bool:
        """Whether the rule ends `ids` at or before its last id."""
        out: list[int] = []
        return any(self.extend(out, token) for token in ids)
