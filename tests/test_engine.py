"""The answerer's engines on their own, and the one stop rule both decoders follow.

The shared-prefix engine (fingereval.answer.engine) and the naive baseline (fingereval.answer.naive) take token
ids and a clip's tensors, nothing of the answerer: they read the same distributions, and on a rigged bigram
model whose greedy path is known they stop at the same token, by StopRule (fingereval.answer.stopping), with
transformers' `generate` itself stopping there rather than running on under a rule of its own.
"""
from __future__ import annotations

import pytest
import torch

from fingereval.answer.chat_tokens import ChatTokens, encode
from fingereval.answer.engine import PrefixEngine
from fingereval.answer.format import user_text
from fingereval.answer.model_loading import load_model_and_processor
from fingereval.answer.naive import NaiveEngine
from fingereval.answer.stopping import StopRule
from fingereval.answer.video_tensors import video_tensors
from fingereval.video import VideoConfig, load_video
from rigged import rig

VC = VideoConfig(size=112)
QUESTIONS = ["Does a red square appear?", "Is the square moving?", "Is the video nearly static?"]


def _engines(model, processor):
    pad = processor.tokenizer.pad_token_id
    return PrefixEngine(model, pad_id=pad, suffix_batch=2), NaiveEngine(model, pad_id=pad)


def _video(model, processor, path):
    return video_tensors(processor, load_video(path, VC), ChatTokens(processor).shared_text(),
                         video_token_id=model.config.video_token_id, device="cpu", dtype=torch.float32)


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    return load_model_and_processor(tiny_model_dir)


def test_the_engine_reads_what_the_baseline_reads(tiny, red_video):
    model, processor = tiny
    engine, naive = _engines(model, processor)
    video = _video(model, processor, red_video)
    rows = ChatTokens(processor).rows([user_text(q) for q in QUESTIONS], ["<answer>"] * 3, video.n_video_tokens)
    (b1, a1), (b2, a2) = engine.last_two_logprobs(video, rows), naive.last_two_logprobs(video, rows)
    assert a1.shape == (3, model.config.text_config.vocab_size) and a1.dtype == torch.float64
    assert (a1 - a2).abs().max().item() < 1e-3 and (b1 - b2).abs().max().item() < 1e-3
    assert a1.std(dim=0).max().item() > 1e-2  # the questions read different distributions: not a constant model
    assert video.prefix is not None and video.prefix.tokens == rows[0][:video.prefix.length]


def test_prompts_that_differ_inside_the_video_cannot_share_a_prefix(tiny, red_video):
    model, processor = tiny
    engine, _ = _engines(model, processor)
    video = _video(model, processor, red_video)
    rows = ChatTokens(processor).rows([user_text(q) for q in QUESTIONS[:2]], [""] * 2, video.n_video_tokens)
    rows[1] = rows[1][:3] + [rows[1][3] + 1] + rows[1][4:]  # another system text: the rows part before the video
    video.anchor = rows[0]
    with pytest.raises(ValueError, match="before the end of the video"):
        engine.last_two_logprobs(video, rows)


@pytest.fixture(scope="module")
def rigged(tmp_path_factory, red_video):
    """A bigram model: after the assistant header `<` `answer` `>No`, after `Yes` the end of the turn, `a` forever."""
    bigrams = {"\n": {"<": 0.9}, "<": {"answer": 0.9}, "answer": {">No": 0.6, ">": 0.35},
               "Yes": {"<|im_end|>": 0.9}, "a": {"a": 0.9}}
    model, processor = load_model_and_processor(rig(bigrams, tmp_path_factory.mktemp("rig") / "stop"))
    return model, processor, _video(model, processor, red_video)


def _prompt(processor, video, assistant: str) -> list[int]:
    return ChatTokens(processor).rows([user_text("Is it red?")], [assistant], video.n_video_tokens)[0]


def test_both_decoders_stop_at_the_token_that_completes_the_stop_text(rigged):
    model, processor, video = rigged
    tok = processor.tokenizer
    engine, naive = _engines(model, processor)
    prompt = _prompt(processor, video, "")
    assert tok.decode(prompt[-1:]) == "\n"
    want = encode(tok, "<answer>No")  # the rig's greedy path; its last token `>No` completes the tag
    assert [tok.decode([t]) for t in want] == ["<", "answer", ">No"]
    stop = StopRule.for_tokenizer("<answer>", tok, max_new_tokens=8)
    assert engine.generate(video, [prompt], stop) == [want]
    assert naive.generate(video, [prompt], stop) == [want]
    # generate itself stopped there (our rule as its stopping criteria), not 5 tokens later at the budget
    assert naive._generate(prompt, video, stop).sequences[0, len(prompt):].tolist() == want


def test_both_decoders_end_at_the_end_of_turn_and_at_the_budget(rigged):
    model, processor, video = rigged
    tok = processor.tokenizer
    engine, naive = _engines(model, processor)
    yes, a = encode(tok, "Yes"), encode(tok, "a")
    stop = StopRule.for_tokenizer("<answer>", tok, max_new_tokens=5)
    ends_turn, loops = _prompt(processor, video, "Yes"), _prompt(processor, video, "a")
    assert ends_turn[-1:] == yes and loops[-1:] == a
    for decoder in (engine, naive):
        # `Yes` -> <|im_end|>: nothing written (the end of turn is left out); `a` -> `a` ...: exactly the budget
        assert decoder.generate(video, [ends_turn, loops], stop) == [[], a * 5]


def test_the_stop_rule_on_ids_and_texts(rigged):
    _, processor, _ = rigged
    tok = processor.tokenizer
    end = tok.convert_tokens_to_ids("<|im_end|>")
    stop = StopRule.for_tokenizer("<answer>", tok, max_new_tokens=8)
    so, tag_no, close = encode(tok, "so"), encode(tok, "<answer>No"), encode(tok, "</answer>")
    assert stop.cut(so + tag_no + close + [end]) == so + tag_no
    assert stop.cut(so + [end] + tag_no) == so
    assert stop.cut(so) == so and not stop.finished(so) and stop.finished(so + [end])
    assert stop.cut_text("so<answer>No</answer>") == "so<answer>" and stop.cut_text("so") == "so"
    assert StopRule.for_tokenizer("</think>", tok, 8).text_before("why</think>more") == "why"
