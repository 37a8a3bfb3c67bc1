"""Qwen2.5's real vocabulary as the tiny models carry it, and the probe world's pruned copy of it."""
from __future__ import annotations

import json
from importlib import resources

import pytest

from fingereval.tiny.corpus import probe_corpus, probe_text
from fingereval.tiny.vocab import BPE_SIZE, PLAIN_ADDED_TOKENS, SPECIAL_TOKENS, pruned_tokenizer, qwen_tokenizer


@pytest.fixture(scope="module")
def full():
    return qwen_tokenizer()


@pytest.fixture(scope="module")
def pruned():
    return pruned_tokenizer(probe_corpus())


def _pieces(tok, text: str) -> list[str]:
    return tok.convert_ids_to_tokens(tok(text, add_special_tokens=False)["input_ids"])


def test_published_facts_of_qwen25(full):
    """151,643 BPE tokens; specials 151643-151656 in Qwen's order; <|video_pad|> = 151656; 151,665 in all."""
    assert BPE_SIZE == 151_643 and len(full) == 151_665
    assert [full.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS] == list(range(151_643, 151_657))
    assert full.convert_tokens_to_ids("<|video_pad|>") == 151_656
    assert [full.convert_tokens_to_ids(t) for t in PLAIN_ADDED_TOKENS] == list(range(151_657, 151_665))
    assert full.eos_token == "<|im_end|>" and full.pad_token == "<|endoftext|>"
    assert set(full.all_special_ids) == set(range(151_643, 151_657))
    # Qwen3's extra special tokens are plain text in Qwen2.5-VL
    assert _pieces(full, "<think>") == ["<th", "ink", ">"]
    assert full("Hello world", add_special_tokens=False)["input_ids"] == [9707, 1879]


def test_chat_template_renders_qwens_video_turn(full):
    msgs = [{"role": "user", "content": [{"type": "video"}, {"type": "text", "text": "Q"}]}]
    text = full.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    assert text == ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
                    "<|vision_start|><|video_pad|><|vision_end|>Q<|im_end|>\n<|im_start|>assistant\n")


def test_pruned_copy_tokenises_the_probe_world_exactly(full, pruned):
    corpus = probe_corpus()
    assert len(pruned) < 2_000
    assert all(_pieces(pruned, t) == _pieces(full, t) for t in corpus)
    # probes of seeds the copy was not built from
    held_out = list(probe_text(range(10, 12)))
    assert all(_pieces(pruned, t) == _pieces(full, t) for t in held_out)
    assert [pruned.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS] == list(range(len(pruned) - 22, len(pruned) - 8))


def test_pruned_copy_differs_only_by_splitting_text_outside_its_world(full, pruned):
    """On real prompts the copy splits unknown words into smaller pieces (it has every byte), never loses text."""
    rows = resources.files("fingereval.resources").joinpath("t2v_prompts.jsonl").read_text().splitlines()
    prompts = [json.loads(r)["prompt"] for r in rows[:100]]
    same = 0
    for p in prompts:
        ids = pruned(p, add_special_tokens=False)["input_ids"]
        assert pruned.decode(ids) == p
        assert len(ids) >= len(full(p, add_special_tokens=False)["input_ids"])
        same += _pieces(pruned, p) == _pieces(full, p)
    assert same < len(prompts)  # out-of-world text is where the copy differs


def test_pruned_copy_keeps_every_yes_no_token(full, pruned):
    from fingereval.answer.tokens import answer_slot

    a, b = answer_slot(full, "<answer>"), answer_slot(pruned, "<answer>")
    for x, y in ((a.yes, b.yes), (a.no, b.no), (a.merged_no, b.merged_no)):
        assert sorted(full.decode([i]) for i in x) == sorted(pruned.decode([i]) for i in y)
