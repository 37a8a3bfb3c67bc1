"""The answer format shared by the answerer, the trainers and the data tools.

A model sees the video, a fixed instruction, then one question; it writes
`<think>why</think><answer>Yes|No</answer>`. The fixed instruction sits between the video and the
question so that every question of a video shares the longest possible token prefix (and vLLM's
prefix cache, which keeps only full 16-token blocks, gets a full hit).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

INSTRUCTION = (
    "You are judging a generated video. Watch it closely, then answer the question about it. "
    "Think about what you see inside <think></think>, then answer Yes or No inside <answer></answer>."
)
ANSWER_OPEN = "<answer>"
ANSWER_CLOSE = "</answer>"

_ANSWER_RE = re.compile(r"<answer>(.*?)</answer>", re.S)
_THINK_RE = re.compile(r"<think>(.*?)</think>", re.S)
_STRICT_RE = re.compile(r"^\s*<think>(.+?)</think>\s*<answer>(.+?)</answer>\s*$", re.S)


def user_text(question: str) -> str:
    return f"{INSTRUCTION}\nQuestion: {question}"


def assistant_prefix(reason: bool) -> str:
    """What the assistant turn starts with before the model speaks: direct scoring starts at the answer slot."""
    return "" if reason else ANSWER_OPEN


def target_text(answer: str, reason: str | None) -> str:
    """The training target, exactly the format parse_output reads. `answer` is 'yes' or 'no'."""
    word = "Yes" if answer.strip().lower() == "yes" else "No"
    if reason is None:
        return f"{ANSWER_OPEN}{word}{ANSWER_CLOSE}"
    return f"<think>{reason.strip()}</think>{ANSWER_OPEN}{word}{ANSWER_CLOSE}"


@dataclass(frozen=True)
class ParsedOutput:
    answer: str | None  # 'yes' | 'no' | None when no answer tag or an unreadable answer
    reason: str | None
    well_formed: bool  # exactly <think>...</think><answer>...</answer>


def parse_answer_word(text: str) -> str | None:
    """'Yes', ' yes', '"No."', 'YES' -> 'yes'/'no'; anything else -> None."""
    word = re.sub(r"[^a-z]", "", text.lower())
    return word if word in ("yes", "no") else None


def parse_output(text: str) -> ParsedOutput:
    m = _ANSWER_RE.search(text)
    answer = parse_answer_word(m.group(1)) if m else None
    t = _THINK_RE.search(text)
    if t:
        reason = t.group(1).strip()
    else:  # no think tags: whatever came before the answer slot is the reason
        reason = text.split(ANSWER_OPEN)[0].strip() or None
    strict = _STRICT_RE.match(text)
    well_formed = bool(strict) and parse_answer_word(strict.group(2)) is not None
    return ParsedOutput(answer=answer, reason=reason, well_formed=well_formed)


def text_before_answer_slot(generated: str) -> tuple[str, bool]:
    """The assistant text up to and including the answer slot, and whether the slot had to be forced.

    A model that never wrote `<answer>` gets one appended after its text (forced = True).
    """
    cut = generated.find(ANSWER_OPEN)
    if cut >= 0:
        return generated[: cut + len(ANSWER_OPEN)], False
    return generated.rstrip() + ANSWER_OPEN, True
