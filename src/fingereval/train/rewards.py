"""GRPO rewards (the FingER recipe): accuracy of the yes/no answer, and the exact output format; and a graded
alternative (`graded_rewards`: the probability of the right answer, read by fingereval.train.grpo).

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


def graded_rewards(p_yes: Sequence[float], answered: Sequence[bool], answer: Sequence) -> list[float]:
    """The probability the model put on the true answer at the answer slot, P(yes)/(P(yes) + P(no)) or its
    complement; 0.0 where the completion wrote no `<answer>` (no answer of its own to grade) or the truth is not
    yes/no. Unlike accuracy, two right answers said with different confidence get different rewards, so a group
    that answers alike still has an advantage to learn from (docs/training.md, "Levers on GRPO cold start")."""
    rewards = []
    for p, wrote, a in zip(p_yes, answered, answer, strict=True):
        truth = _label(a)
        rewards.append(0.0 if not wrote or truth is None else float(p) if truth == "yes" else 1.0 - float(p))
    return rewards
