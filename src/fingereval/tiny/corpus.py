"""The text a probe-world model ever reads or writes: what its pruned copy of Qwen's vocabulary is built from.

Prompts, questions, reasons and scene captions of many planned probes (planning draws no frames, so this
is fast), the fixed instruction, the chat template's text, the answer format with every yes/no spelling,
and the prompts the caption and reason-writing stages use.
"""
from __future__ import annotations

from collections.abc import Iterator

from fingereval.answer.format import ANSWER_CLOSE, ANSWER_OPEN, INSTRUCTION, user_text

YES_NO_WORDS = ["Yes", "No", "yes", "no", "YES", "NO", '"Yes', '"No', "'Yes", "'No", "Yes.", "No."]
PLANS_PER_SETTING = 200  # six world settings x 200: as many plans (and as long a vocabulary test) as three x 400 were
# (named entities at most, unnamed distractors at most): every world the probes make (`probes make`)
WORLD_SETTINGS = ((1, 0), (1, 1), (1, 2), (2, 0), (2, 1), (3, 0))


def format_text() -> list[str]:
    """The instruction, the template's system turn, and the answer format around every yes/no spelling."""
    from fingereval.tiny.align import CAPTION_REQUEST

    lines = [user_text(""), INSTRUCTION, "You are a helpful assistant.", "user\n", "assistant\n", CAPTION_REQUEST]
    for w in YES_NO_WORDS:
        lines += [f"<think>x</think>{ANSWER_OPEN}{w}{ANSWER_CLOSE}", f"{ANSWER_OPEN} {w}{ANSWER_CLOSE}",
                  f"The correct answer is {w}. Explain why in one sentence."]
    return lines


def probe_text(seeds: range = range(3)) -> Iterator[str]:
    """Prompts, questions, reasons and captions of planned probes in every entity-count setting, with
    distractors and the hard tier."""
    from fingereval.probes.questions import qa_records
    from fingereval.probes.scene import scene_caption, scene_labels
    from fingereval.probes.world import plan_probe

    for seed in seeds:
        for max_entities, distractors in WORLD_SETTINGS:
            for index in range(PLANS_PER_SETTING):
                spec = plan_probe(seed, index, max_entities=max_entities, distractors=distractors, hard_share=0.5)
                yield spec.prompt
                yield scene_caption(scene_labels(spec))
                for r in qa_records(spec, "v.mp4"):
                    yield user_text(r["question"])
                    yield r["reason"]


def probe_corpus() -> list[str]:
    return format_text() + list(probe_text())
