"""The transformers answerer on a tiny real Qwen2.5-VL: shared prefix == naive, positions, video, slots."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from fingereval.answer.format import text_before_answer_slot, user_text
from fingereval.answer.transformers_backend import TransformersAnswerer
from fingereval.schema import Question
from fingereval.video import VideoConfig, load_video

VC = VideoConfig(size=112)
QUESTIONS = [
    Question(id="a", dimension="visual_quality", entity="red square", text="Is the red square clearly visible without blur?", good_answer="yes"),
    Question(id="b", dimension="temporal_consistency", entity="red square", text="Does the red square change colour?", good_answer="no"),
    Question(id="c", dimension="dynamic_degree", text="Is the video nearly static?", good_answer="no"),
    Question(id="d", dimension="text_alignment", entity="red square", text="Does a red square appear?", good_answer="yes"),
    Question(id="e", dimension="factual_consistency", entity="red square", text="Does the square move in a physically impossible way, such as passing through walls?", good_answer="no"),
]


@pytest.fixture(scope="module")
def shared(tiny_model_dir):
    return TransformersAnswerer(tiny_model_dir, video_config=VC, suffix_batch=2, max_new_tokens=10)


@pytest.fixture(scope="module")
def naive(tiny_model_dir):
    return TransformersAnswerer(tiny_model_dir, video_config=VC, shared_prefix=False, max_new_tokens=10)


@pytest.fixture(scope="module")
def clip(red_video):
    return load_video(red_video, VC)


def _users():
    return [user_text(q.text) for q in QUESTIONS]


def test_shared_prefix_matches_naive(shared, naive, clip):
    a = shared.answer(clip, QUESTIONS)
    b = naive.answer(clip, QUESTIONS)
    assert [x.question_id for x in a] == [q.id for q in QUESTIONS]
    np.testing.assert_allclose([x.p_yes for x in a], [x.p_yes for x in b], atol=1e-4)
    (ba, la), (bb, lb) = (m.slot_distributions(clip, _users(), ["<answer>"] * len(QUESTIONS)) for m in (shared, naive))
    assert (la - lb).abs().max().item() < 1e-3 and (ba - bb).abs().max().item() < 1e-3
    # the answers really differ between questions: the equality above is not a constant model
    assert la.std(dim=0).max().item() > 1e-2


def test_padded_batch_path_matches_naive_too(shared, naive, clip, monkeypatch):
    """The right-padded batch path (used with flash attention) agrees with the packed path and naive."""
    packed = [x.p_yes for x in shared.answer(clip, QUESTIONS)]
    monkeypatch.setattr(TransformersAnswerer, "_suffix_last_logprobs", TransformersAnswerer._batched_last_logprobs)
    (ba, la), (bb, lb) = (m.slot_distributions(clip, _users(), ["<answer>"] * len(QUESTIONS)) for m in (shared, naive))
    assert (la - lb).abs().max().item() < 1e-3 and (ba - bb).abs().max().item() < 1e-3
    padded = [x.p_yes for x in shared.answer(clip, QUESTIONS)]
    np.testing.assert_allclose(padded, packed, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(padded, [x.p_yes for x in naive.answer(clip, QUESTIONS)], rtol=1e-4, atol=1e-5)


def test_wrong_rope_positions_would_be_caught(shared, clip, monkeypatch):
    good = shared.slot_logprobs(clip, _users(), ["<answer>"] * len(QUESTIONS))
    real = TransformersAnswerer._prefill

    def plain_positions(self, rows, video):  # continue at P+j, forgetting the rope delta
        prefix = real(self, rows, video)
        prefix.rope_delta = 0
        return prefix

    monkeypatch.setattr(TransformersAnswerer, "_prefill", plain_positions)
    bad = shared.slot_logprobs(clip, _users(), ["<answer>"] * len(QUESTIONS))
    assert shared.video_config is VC
    assert (good - bad).abs().max().item() > 0.05


def test_video_content_reaches_the_model(shared, naive, clip, blue_static_video):
    other = load_video(blue_static_video, VC)
    for ans in (shared, naive):
        a = ans.slot_logprobs(clip, _users()[:2], ["<answer>"] * 2)
        b = ans.slot_logprobs(other, _users()[:2], ["<answer>"] * 2)
        assert (a - b).abs().max().item() > 1e-3


def test_sampled_fps_reaches_positions(shared, clip):
    """The processor must get the real sampled fps (else it assumes 24 and the temporal positions move)."""
    slower = dataclasses.replace(clip, fps=clip.fps / 4)
    a = shared.slot_logprobs(clip, _users()[:1], ["<answer>"])
    b = shared.slot_logprobs(slower, _users()[:1], ["<answer>"])
    assert (a - b).abs().max().item() > 1e-4


def test_reason_mode_greedy_matches_hf_generate(shared, naive, clip):
    a = shared.answer(clip, QUESTIONS[:3], reason=True)
    b = naive.answer(clip, QUESTIONS[:3], reason=True)  # naive path uses transformers' generate()
    assert [x.output for x in a] == [x.output for x in b]
    np.testing.assert_allclose([x.p_yes for x in a], [x.p_yes for x in b], atol=1e-4)
    for x in a:  # a random model writes no answer tag: the slot is forced and recorded (its reading:
        assert x.forced and "<answer>" not in x.output  # test_answer_slot.py, on a rig that never writes it)


def test_p_yes_marginalises_the_merged_and_the_split_slot(shared, clip):
    """p_yes = (P(>) P(yes|>) + P(>Yes..)) / (that + P(>No) + P(>) P(no|>)), from the two slot rows."""
    before, at = (x[0].double().exp() for x in shared.slot_distributions(clip, _users()[:1], ["<answer>"]))
    slot = shared.slot
    assert shared.tokenizer.decode(list(slot.merged_no)) == ">No" and not slot.merged_yes
    yes = before[slot.last] * at[list(slot.yes)].sum() + before[list(slot.merged_yes)].sum()
    no = before[slot.last] * at[list(slot.no)].sum() + before[list(slot.merged_no)].sum()
    assert shared.p_yes(clip, _users()[:1], ["<answer>"])[0] == pytest.approx((yes / (yes + no)).item(), rel=1e-4)
    # the old reading (the split path alone) is a different number on this model
    split = at[list(slot.yes)].sum() / (at[list(slot.yes)].sum() + at[list(slot.no)].sum())
    assert abs(split.item() - (yes / (yes + no)).item()) > 1e-3


def test_prefix_is_reused_across_calls_on_one_video(shared, clip, monkeypatch):
    calls = []
    real = TransformersAnswerer._prefill
    monkeypatch.setattr(TransformersAnswerer, "_prefill", lambda self, rows, video: calls.append(1) or real(self, rows, video))
    shared.answer(clip, QUESTIONS[:2], reason=True)  # generation and the answer-slot pass share one prefill
    assert len(calls) == 1


def test_missing_model_folder_is_a_clear_error(tmp_path):
    from fingereval.errors import ConfigError

    with pytest.raises(ConfigError, match="no such directory"):
        TransformersAnswerer(tmp_path / "nope")


def test_folder_without_a_processor_is_a_clear_error(tiny_model_dir, tmp_path):
    import shutil

    from fingereval.errors import ConfigError

    only_weights = tmp_path / "weights-only"
    only_weights.mkdir()
    for name in ("config.json", "model.safetensors"):
        shutil.copy(tiny_model_dir / name, only_weights / name)
    with pytest.raises(ConfigError, match="cannot load"):
        TransformersAnswerer(only_weights)


def test_generation_cache_is_filled_in_place_not_copied_per_step():
    """Reason mode's batched decoding writes each token into one buffer: no per-step copy of the prefix."""
    from transformers import DynamicCache

    from fingereval.answer.prefix_cache import preallocated

    keys, values = torch.randn(1, 2, 5, 4), torch.randn(1, 2, 5, 4)
    cache = preallocated(DynamicCache(ddp_cache_data=[(keys, values)]), rows=3, capacity=8)
    layer = cache.layers[0]
    start = layer.keys.data_ptr()
    for step in range(3):
        k, v = layer.update(torch.full((3, 2, 1, 4), float(step)), torch.zeros(3, 2, 1, 4))
        assert k.data_ptr() == start and k.shape == (3, 2, 6 + step, 4)
    assert torch.equal(k[:, :, :5], keys.expand(3, -1, -1, -1)) and torch.equal(k[:, :, 7], torch.full((3, 2, 4), 2.0))
    assert cache.get_seq_length() == 8
    with pytest.raises(RuntimeError, match="full"):
        layer.update(torch.zeros(3, 2, 1, 4), torch.zeros(3, 2, 1, 4))
