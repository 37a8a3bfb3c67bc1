"""GRPO rewards (the FingER recipe): accuracy of the yes/no answer, and the exact output format.

Plain functions with TRL's reward signature: TRL calls them with the batch's prompts, completions
and every dataset column as a keyword list (`answer` is the true yes/no), and they take hand-written
strings in tests. Parsing is `fingereval.answer.format.parse_output`, the same as the answerer's, so
`<answer>"No."</answer>` and `<answer> yes</answer>` count as answers exactly as they do at scoring.
"""
from __future__ import annotations

from collections.abc import Sequence

from fingereval.answer.format import parse_output
from fingereval.schema import normalize_yes_no


def completion_text(completion: str | Sequence[dict]) -> str:
    """A completion as text: TRL passes a string, or the assistant message list for chat prompts."""
    if isinstance(completion, str):
        return completion
    return "".join(str(m.get("content", "")) for m in completion if m.get("role", "assistant") == "assistant")


def _label(answer: object) -> str | None:
    try:
        return normalize_yes_no(answer)
    except ValueError:
        return None


def accuracy_reward(prompts: Sequence, completions: Sequence, answer: Sequence, **kwargs) -> list[float]:
    """1.0 when the completion's parsed answer equals the true answer, else 0.0 (no answer tag: 0.0)."""
    rewards = []
    for c, a in zip(completions, answer, strict=True):
        said, truth = parse_output(completion_text(c)).answer, _label(a)
        rewards.append(1.0 if truth is not None and said == truth else 0.0)
    return rewards


def format_reward(completions: Sequence, **kwargs) -> list[float]:
    """1.0 when the completion is exactly `<think>...</think><answer>yes|no</answer>`, else 0.0."""
    return [1.0 if parse_output(completion_text(c)).well_formed else 0.0 for c in completions]
