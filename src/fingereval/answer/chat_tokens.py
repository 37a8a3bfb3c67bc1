"""Chat prompts as token ids, and the model's own ids up to the answer slot.

Every question's prompt is tokenised with its video placeholder (and its conditioning image's, for an
image-to-video clip) already expanded to the clip's tokens, the text edit the processor makes, so that the video
and its image are processed once per clip and not once per question.
"""
from __future__ import annotations

from collections.abc import Sequence

from fingereval.answer.format import ANSWER_OPEN, text_before_answer_slot, user_text
from fingereval.answer.inputs import IMAGE_PAD, VIDEO_PAD, chat_text
from fingereval.answer.tokens import AnswerSlot


class ChatTokens:
    """The chat template and tokenizer of a processor, for prompts that share one video."""

    def __init__(self, processor):
        self.processor = processor
        self.tokenizer = processor.tokenizer

    def texts(self, users: Sequence[str], prefixes: Sequence[str], image: bool = False) -> list[str]:
        """The chat text of each (user text, start of the assistant turn), with one video placeholder (and, with
        `image`, one image placeholder before it)."""
        return [chat_text(self.processor, u, a, image=image) for u, a in zip(users, prefixes)]

    def shared_text(self, image: bool = False) -> str:
        """The part of the chat text every question shares: up to the question's own words."""
        return self.texts([user_text("")], [""], image)[0]

    def rows(self, users: Sequence[str], prefixes: Sequence[str], n_video_tokens: int,
             n_image_tokens: int = 0) -> list[list[int]]:
        """Token ids of each prompt, its video placeholder expanded to the clip's `n_video_tokens` tokens (and its
        image placeholder, when `n_image_tokens` > 0, to the image's)."""
        return self.token_rows(self.texts(users, prefixes, n_image_tokens > 0), n_video_tokens, n_image_tokens)

    def token_rows(self, texts: Sequence[str], n_video_tokens: int, n_image_tokens: int = 0) -> list[list[int]]:
        """Token ids of chat texts with one video placeholder each (and one image placeholder each when
        `n_image_tokens` > 0), expanded to `n_video_tokens` (and `n_image_tokens`) tokens."""
        expanded = [t.replace(VIDEO_PAD, VIDEO_PAD * n_video_tokens, 1) for t in texts]
        if n_image_tokens:
            expanded = [t.replace(IMAGE_PAD, IMAGE_PAD * n_image_tokens, 1) for t in expanded]
        return self.tokenizer(expanded, add_special_tokens=False)["input_ids"]

    def encode(self, text: str) -> list[int]:
        return encode(self.tokenizer, text)


def encode(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def slot_ids(tokenizer, slot: AnswerSlot, generated: list[int]) -> tuple[list[int], bool]:
    """The model's own ids up to the answer slot, ending in the slot's last token, and whether the slot was
    forced (the model wrote none, so it is appended).

    A model that wrote `<answer>No` emitted `<` `answer` `>No`: the slot keeps `<` `answer` and appends `>`,
    so the merged path is read where the model chose between `>No` and `>`.
    """
    head = ANSWER_OPEN[: len(ANSWER_OPEN) - len(tokenizer.decode([slot.last]))]
    if not head:  # the whole tag is one token in this vocabulary: the slot ends where the model wrote it
        if slot.last in generated:
            return generated[:generated.index(slot.last) + 1], False
        return generated + [slot.last], True
    for j in range(1, len(generated) + 1):
        text = tokenizer.decode(generated[:j])
        if head in text:
            if text.endswith(head):
                return generated[:j] + [slot.last], False
            break  # no token boundary before the slot's last token: fall back to the text
    else:
        return generated + encode(tokenizer, ANSWER_OPEN), True
    slot_text, forced_answer = text_before_answer_slot(tokenizer.decode(generated))
    return encode(tokenizer, slot_text), forced_answer
