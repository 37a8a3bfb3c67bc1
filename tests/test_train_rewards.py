"""GRPO rewards on hand-written model outputs."""
from __future__ import annotations

import pytest

from fingereval.train import accuracy_reward, format_reward

CASES = [
    # (completion, true answer, accuracy, format)
    ("<think>The ball is red in every frame.</think><answer>Yes</answer>", "yes", 1.0, 1.0),
    ("<think>The ball is red in every frame.</think><answer>Yes</answer>", "no", 0.0, 1.0),
    ("<think>It is blue.</think><answer>No</answer>", "no", 1.0, 1.0),
    ("<answer>Yes</answer>", "yes", 1.0, 0.0),  # right answer, no reasoning: format fails
    ("The ball is red. Yes", "yes", 0.0, 0.0),  # no tags at all
    ("<think>red</think> Yes", "yes", 0.0, 0.0),  # no answer tag
    ('<think>It is not blue.</think><answer>"No."</answer>', "no", 1.0, 1.0),  # quoted answer
    ("<think>red</think><answer> yes</answer>", "yes", 1.0, 1.0),  # answer with a space
    ("<think>red</think><answer>maybe</answer>", "yes", 0.0, 0.0),  # not a yes/no answer
    ("<think>red</think><answer>Yes</answer> and more text", "yes", 1.0, 0.0),  # trailing text
    ("<think></think><answer>Yes</answer>", "yes", 1.0, 0.0),  # empty reasoning
]


@pytest.mark.parametrize("completion,truth,accuracy,fmt", CASES)
def test_rewards_on_hand_written_outputs(completion, truth, accuracy, fmt):
    assert accuracy_reward(prompts=["p"], completions=[completion], answer=[truth]) == [accuracy]
    assert format_reward(completions=[completion]) == [fmt]


def test_rewards_take_chat_completions_and_trl_keywords():
    # TRL passes chat completions as message lists for chat prompts, and extra columns as keywords
    chat = [[{"role": "assistant", "content": "<think>red</think><answer>No</answer>"}]]
    assert accuracy_reward(prompts=["p"], completions=chat, answer=["No"], video=["v.mp4"], trainer_state=None) == [1.0]
    assert format_reward(completions=chat, prompts=["p"], answer=["no"]) == [1.0]


def test_rewards_are_batched_in_order():
    completions = ["<think>a</think><answer>Yes</answer>", "<answer>No</answer>", "nothing"]
    assert accuracy_reward(prompts=["p"] * 3, completions=completions, answer=["yes", "yes", "no"]) == [1.0, 0.0, 0.0]
    assert format_reward(completions=completions) == [1.0, 0.0, 0.0]
