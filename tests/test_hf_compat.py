"""What fingereval.answer.hf_compat relies on in the pinned transformers and TRL, checked where it can break.

Signatures are read with `inspect`; behaviour is checked on a real tiny Qwen2.5-VL: the M-RoPE offset of the
text after a video, the stale offset the model keeps between forwards, a cache continued with explicit
positions, `logits_to_keep` positions and caches built from tensors. A version that changes any of them fails
here, not in a score.
"""
from __future__ import annotations

import inspect

import pytest
import torch

from fingereval.answer import hf_compat
from fingereval.answer.chat_tokens import ChatTokens
from fingereval.answer.format import user_text
from fingereval.answer.inputs import mm_token_type_ids
from fingereval.answer.model_loading import load_model_and_processor
from fingereval.answer.video_tensors import video_tensors
from fingereval.video import VideoConfig, load_video


def _params(fn) -> list[str]:
    return list(inspect.signature(fn).parameters)


@pytest.fixture(scope="module")
def loaded(tiny_model_dir):
    return load_model_and_processor(tiny_model_dir)


@pytest.fixture(scope="module")
def prompt(loaded, red_video):
    """(ids (1, n) of one question with its video, the video's tensors, index of the first text token after it)."""
    model, processor = loaded
    video = video_tensors(processor, load_video(red_video, VideoConfig(size=112)), ChatTokens(processor).shared_text(),
                          video_token_id=model.config.video_token_id, device="cpu", dtype=torch.float32)
    row = ChatTokens(processor).rows([user_text("Does a red square appear?")], ["<answer>"], video.n_video_tokens)[0]
    after_video = max(i for i, t in enumerate(row) if t == model.config.video_token_id) + 1
    return torch.tensor([row]), video, after_video


# ---- signatures ---------------------------------------------------------------------------------------------

def test_the_model_api_the_adapter_calls(loaded):
    model, _ = loaded
    rope = _params(model.model.get_rope_index)
    assert rope[:2] == ["input_ids", "mm_token_type_ids"] and {"video_grid_thw", "second_per_grid_ts"} <= set(rope)
    forward = set(_params(model.forward))
    assert {hf_compat.CACHE_ARG, "position_ids", "mm_token_type_ids", "logits_to_keep", "use_cache",
            "pixel_values_videos", "video_grid_thw", "second_per_grid_ts"} <= forward
    assert hf_compat.CACHE_ARG in _params(hf_compat.base_model(model).forward)
    assert _params(hf_compat.DynamicLayer.lazy_initialization)[:3] == ["self", "key_states", "value_states"]
    assert _params(hf_compat.DynamicLayer.update)[:3] == ["self", "key_states", "value_states"]
    assert hf_compat.attention_kernel(model) in {"sdpa", "eager", "flash_attention_2", "flash_attention_3"}
    tower = hf_compat.vision_tower(model)
    assert tower.spatial_merge_size == model.config.vision_config.spatial_merge_size
    assert hf_compat.patch_embedding(model).shape[0] == model.config.vision_config.hidden_size


def test_the_trainer_internals_the_adapter_names():
    from transformers import Trainer
    from trl import GRPOTrainer
    from trl.trainer import utils as trl_utils

    assert _params(GRPOTrainer._generate_and_score_completions) == ["self", "inputs"]
    assert _params(GRPOTrainer._tokenize_prompts) == ["self", "prompts"]
    assert _params(GRPOTrainer._compute_loss) == ["self", "model", "inputs"]
    assert _params(GRPOTrainer._get_per_token_logps_and_entropies)[:8] == [
        "self", "model", "input_ids", "attention_mask", "logits_to_keep", "batch_size", "compute_entropy",
        "compute_aux_loss"]
    # the steps call each other where our overrides sit: generation tokenises through _tokenize_prompts, the
    # loss and the old/reference log-probs go through _get_per_token_logps_and_entropies
    assert "self._tokenize_prompts(" in inspect.getsource(GRPOTrainer._generate)
    assert "self._get_per_token_logps_and_entropies(" in inspect.getsource(GRPOTrainer._compute_loss)
    assert "self._get_per_token_logps_and_entropies(" in inspect.getsource(GRPOTrainer._generate_and_score_completions)
    assert "self._tokenizer" in inspect.getsource(GRPOTrainer.__init__)
    assert "fused_lm_head" in inspect.getsource(trl_utils.add_fused_lm_head)
    assert "self.model_accepts_loss_kwargs" in inspect.getsource(Trainer)


def test_grpo_hooks_route_trl_steps_to_ours():
    """Each private step TRL calls lands in the method of ours that a subclass overrides."""
    calls = []

    class Recorder(hf_compat.grpo_hooks()):
        def tokenize_prompts(self, prompts):
            calls.append(("tokenize", prompts))
            return "t"

        def generate_and_score(self, inputs):
            calls.append(("generate", inputs))
            return "g"

        def compute_policy_loss(self, model, inputs):
            calls.append(("loss", inputs))
            return "l"

        def per_token_logps(self, model, input_ids, attention_mask, logits_to_keep, *, batch_size=None,
                            compute_entropy=False):
            calls.append(("logps", batch_size, compute_entropy))
            return "p", "e"

    trainer = Recorder.__new__(Recorder)  # no model needed to see where the calls go
    assert trainer._tokenize_prompts(["a"]) == "t" and trainer._generate_and_score_completions([1]) == "g"
    assert trainer._compute_loss(None, {"x": 1}) == "l"
    assert trainer._get_per_token_logps_and_entropies(None, None, None, 3, batch_size=2, compute_entropy=True) == ("p", "e", None)
    assert calls == [("tokenize", ["a"]), ("generate", [1]), ("loss", {"x": 1}), ("logps", 2, True)]


# ---- behaviour on a real tiny Qwen2.5-VL --------------------------------------------------------------------

def test_text_after_the_video_continues_at_index_plus_rope_delta(loaded, prompt):
    model, _ = loaded
    ids, video, after = prompt
    types = mm_token_type_ids(ids, model.config.video_token_id)
    positions, delta = hf_compat.rope_index(model, ids, types, video.video_grid_thw, video.second_per_grid_ts)
    n = ids.shape[1]
    assert positions.shape == (3, 1, n)
    tail = torch.arange(after, n) + delta
    for axis in range(3):  # every axis of every text token after the video: index + delta
        assert torch.equal(positions[axis, 0, after:], tail)
    start = after - video.n_video_tokens
    assert torch.equal(positions[:, 0, :start], torch.arange(start).expand(3, -1))  # text before the video: plain
    # the video's tokens span fewer positions than their count (that is what the delta is), so it is negative
    assert delta < 0 and delta == int(positions.max()) + 1 - n


def test_the_model_keeps_the_last_delta_and_reuses_it_with_a_cache(loaded, prompt):
    """Why the engine passes positions itself: after a forward the model holds `rope_deltas` and applies it to
    the next forward that continues a cache; forget_positions drops it."""
    model, _ = loaded
    ids, video, after = prompt
    types = mm_token_type_ids(ids, model.config.video_token_id)
    _, delta = hf_compat.rope_index(model, ids, types, video.video_grid_thw, video.second_per_grid_ts)
    hf_compat.forget_positions(model)
    with torch.inference_mode():
        full = model(input_ids=ids, mm_token_type_ids=types, **video.model_inputs()).logits[0, -1]
        assert int(model.model.rope_deltas.reshape(-1)[0]) == delta
        p = ids.shape[1] - 3
        prefill = model(input_ids=ids[:, :p], mm_token_type_ids=types[:, :p], **video.model_inputs(), use_cache=True)

        def continue_cache(**positions):
            cache = hf_compat.returned_cache(prefill)
            hf_compat.drop_last(cache, cache.get_seq_length() - p)
            assert cache.get_seq_length() == p
            return model(input_ids=ids[:, p:], **hf_compat.cache_arg(cache), use_cache=True, **positions).logits[0, -1]

        explicit = (torch.arange(p, ids.shape[1]) + delta).view(1, 1, -1).expand(3, 1, -1)
        assert torch.allclose(continue_cache(position_ids=explicit), full, atol=1e-4)
        assert torch.allclose(continue_cache(), full, atol=1e-4)  # the kept delta, right for this very video
        model.model.rope_deltas = torch.tensor([[delta + 7]])  # as another video would have left it
        assert (continue_cache() - full).abs().max() > 1e-3
        assert torch.allclose(continue_cache(position_ids=explicit), full, atol=1e-4)
    hf_compat.forget_positions(model)
    assert model.model.rope_deltas is None


def test_logits_to_keep_takes_positions(loaded, prompt):
    model, _ = loaded
    ids, video, _ = prompt
    types = mm_token_type_ids(ids, model.config.video_token_id)
    keep = torch.tensor([ids.shape[1] - 5, ids.shape[1] - 1])
    with torch.inference_mode():
        hf_compat.forget_positions(model)
        every = model(input_ids=ids, mm_token_type_ids=types, **video.model_inputs()).logits[0]
        hf_compat.forget_positions(model)
        kept = model(input_ids=ids, mm_token_type_ids=types, **video.model_inputs(), logits_to_keep=keep).logits[0]
    assert kept.shape[0] == 2 and torch.allclose(kept, every[keep], atol=1e-5)


def test_a_cache_built_from_tensors_holds_them_as_they_are():
    keys, values = torch.randn(1, 2, 5, 4), torch.randn(1, 2, 5, 4)
    wide = keys.expand(3, -1, -1, -1)  # a view: three rows, one copy of the data
    cache = hf_compat.cache_from_tensors([(wide, values.expand(3, -1, -1, -1)), (keys + 1, values + 1)])
    layers = hf_compat.cache_layers(cache)
    assert len(layers) == 2 and cache.get_seq_length() == 5
    assert layers[0].keys.data_ptr() == keys.data_ptr() and layers[0].keys.stride() == wide.stride()
    assert torch.equal(layers[1].values, values + 1)
    k, _ = layers[0].update(torch.ones(3, 2, 1, 4), torch.ones(3, 2, 1, 4))  # the first update appends as usual
    assert k.shape == (3, 2, 6, 4) and torch.equal(k[:, :, :5], wide) and cache.get_seq_length() == 6
    other = hf_compat.DynamicCache()
    hf_compat.set_cache_layers(other, layers[:1])
    assert other.get_seq_length() == 6 and len(hf_compat.cache_layers(other)) == 1


def test_random_model_builds_random_weights_in_the_asked_dtype(loaded):
    model, _ = loaded
    fresh = hf_compat.random_model(type(model), model.config, torch.bfloat16)
    assert type(fresh) is type(model) and next(fresh.parameters()).dtype == torch.bfloat16
    assert not torch.equal(hf_compat.patch_embedding(fresh).float(), hf_compat.patch_embedding(model).float())
