"""Every reach of ours into transformers' and TRL's internals, in one place (tests/test_hf_compat.py checks each).

The answerer, the trainers and the tiny model lean on things these libraries do not promise across versions;
they are named here once, so that a version that changes one breaks one module and one test, not a score:

- Qwen2-VL-family models (transformers 5.x): `model.model.get_rope_index` gives the 3-D M-RoPE positions of a
  prompt with its video and the offset (`rope delta`) at which text after the video continues; the model
  keeps the last offset in `model.model.rope_deltas` and reuses it in a later forward with a cache, so it is
  stale after another video (docs/speed.md: the suffixes get positions computed from this very video).
- The forward's cache keyword and output field are `cache` (`past_key_values` before 5.x renamed it);
  `logits_to_keep` takes a tensor of positions; `config._attn_implementation` names the attention kernel;
  `model.model` is the multimodal base model (hidden states), `model.lm_head` the output head,
  `model.model.visual` the vision tower.
- A `DynamicCache`'s `layers` are `DynamicLayer`s (`lazy_initialization`, `keys`, `values`, `update`) that we
  fill with tensors as they are and that the prefix caches (fingereval.answer.prefix_cache) subclass;
  `crop(-n)` drops a cache's last n tokens.
- `PreTrainedModel._from_config` builds a model with random weights (the tiny models).
- The Trainer's `model_accepts_loss_kwargs` decides whether micro-batches' losses are summed over the step's tokens.
- TRL 1.16's GRPOTrainer: the private steps `_generate_and_score_completions`, `_tokenize_prompts`,
  `_compute_loss`, `_get_per_token_logps_and_entropies`, its `_tokenizer`, and the fused LM head's
  `fused_lm_head=True` forward (per-token `log_probs` and `entropy` instead of logits). `GRPOHooks` gives them
  names of ours; `fingereval.train.grpo.VideoGRPOTrainer` overrides those.
"""
from __future__ import annotations

import functools
from collections.abc import Callable

import torch
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

__all__ = ["CACHE_ARG", "DynamicCache", "DynamicLayer", "attention_kernel", "base_model", "cache_arg",
           "cache_from_tensors", "cache_layers", "drop_last", "forget_positions", "grpo_hooks", "has_mrope", "lm_head",
           "patch_embedding", "random_model", "returned_cache", "rope_index", "rope_index_fn", "rope_index_with", "set_cache_layers",
           "sum_loss_over_step_tokens", "vision_tower"]

CACHE_ARG = "cache"  # the forward's cache keyword and output field (transformers >= 5 renamed past_key_values)


# ---- the model's M-RoPE positions -------------------------------------------------------------------------

def has_mrope(model) -> bool:
    """Whether `model` is a Qwen2-VL-family model whose positions we can compute (M-RoPE)."""
    return hasattr(getattr(model, "model", None), "get_rope_index")


def rope_index(model, input_ids: torch.Tensor, mm_token_type_ids: torch.Tensor, video_grid_thw: torch.Tensor,
               second_per_grid_ts: torch.Tensor,
               image_grid_thw: torch.Tensor | None = None) -> tuple[torch.Tensor, int]:
    """(positions (3, 1, n), rope delta) of one prompt with its video (and the conditioning image before it, with
    `image_grid_thw`): text after the video sits at index + delta."""
    return rope_index_with(rope_index_fn(model), input_ids, mm_token_type_ids, video_grid_thw, second_per_grid_ts,
                           image_grid_thw)


def rope_index_fn(model) -> Callable:
    """The model's own position rule (`get_rope_index`), for code that is handed it (the packed SFT collator)."""
    return model.model.get_rope_index


def rope_index_with(fn: Callable, input_ids: torch.Tensor, mm_token_type_ids: torch.Tensor,
                    video_grid_thw: torch.Tensor, second_per_grid_ts: torch.Tensor,
                    image_grid_thw: torch.Tensor | None = None) -> tuple[torch.Tensor, int]:
    """`rope_index` through a position rule handed over as `rope_index_fn(model)`."""
    image = {} if image_grid_thw is None else {"image_grid_thw": image_grid_thw}
    positions, delta = fn(input_ids, mm_token_type_ids=mm_token_type_ids, video_grid_thw=video_grid_thw,
                          second_per_grid_ts=second_per_grid_ts, **image)
    return positions, int(delta.reshape(-1)[0])


def forget_positions(model) -> None:
    """Drop the rope delta the model kept from its last forward, so the next one computes its own."""
    model.model.rope_deltas = None


# ---- the model's parts and settings -----------------------------------------------------------------------

def attention_kernel(model) -> str:
    """The attention implementation the model runs: sdpa and eager take our block masks, flash attention does not."""
    return model.config._attn_implementation


def base_model(model):
    """The multimodal base model (no LM head): its forward returns `last_hidden_state`."""
    return model.model


def lm_head(model):
    return model.lm_head


def vision_tower(model):
    """The vision tower with its merger (what `freeze_vision` keeps and vision pretraining trains)."""
    return model.model.visual


def patch_embedding(model) -> torch.Tensor:
    """The vision tower's patch-embedding weight (out, channels, frames, patch, patch)."""
    return model.model.visual.patch_embed.proj.weight


def random_model(model_class, config, dtype: torch.dtype):
    """A model of `model_class` with random weights from `config` (no checkpoint)."""
    return model_class._from_config(config, dtype=dtype)


# ---- caches -------------------------------------------------------------------------------------------------

def cache_arg(cache) -> dict:
    """The forward's keyword arguments that hand it `cache`."""
    return {CACHE_ARG: cache}


def returned_cache(output):
    """The cache a forward with `use_cache=True` returns."""
    return getattr(output, CACHE_ARG)


def cache_from_tensors(layers: list[tuple[torch.Tensor, torch.Tensor]]) -> DynamicCache:
    """A cache holding these (keys, values) per layer as they are: views stay views until the first update.

    `DynamicCache(ddp_cache_data=...)` would copy each layer on the way in (its first update concatenates onto
    an empty tensor), and the forward's own update copies it again.
    """
    built = []
    for keys, values in layers:
        layer = DynamicLayer()
        layer.lazy_initialization(keys, values)
        layer.keys, layer.values = keys, values
        built.append(layer)
    cache = DynamicCache()
    set_cache_layers(cache, built)
    return cache


def drop_last(cache, n: int) -> None:
    """Remove the last `n` tokens of every layer of `cache` (crop takes a negative count; a positive one was
    once the length to keep and is refused since)."""
    cache.crop(-n)


def cache_layers(cache) -> list:
    return cache.layers


def set_cache_layers(cache, layers: list) -> None:
    cache.layers = layers


# ---- trainers ---------------------------------------------------------------------------------------------

def sum_loss_over_step_tokens(trainer) -> None:
    """Make the Trainer divide each micro-batch's summed loss by the step's label-token count.

    Qwen2.5-VL declares no loss kwargs, so the Trainer would average the micro-batches' means (a short row's
    tokens would weigh more than a long row's); counting the step's tokens lets TRL's loss divide by them.
    """
    trainer.model_accepts_loss_kwargs = True


@functools.cache
def grpo_hooks() -> type:
    """TRL's GRPOTrainer with its private steps reachable under names of ours (built on first use: TRL is slow
    to import). A subclass overrides `tokenize_prompts`, `generate_and_score`, `compute_policy_loss` and
    `per_token_logps`, and calls `fused_log_probs` for a forward that returns per-token log-probs."""
    from trl import GRPOTrainer

    class GRPOHooks(GRPOTrainer):
        @property
        def text_tokenizer(self):
            return self._tokenizer

        # TRL's steps -> ours
        def _generate_and_score_completions(self, inputs):
            return self.generate_and_score(inputs)

        def _tokenize_prompts(self, prompts):
            return self.tokenize_prompts(prompts)

        def _compute_loss(self, model, inputs):
            return self.compute_policy_loss(model, inputs)

        def _get_per_token_logps_and_entropies(self, model, input_ids, attention_mask, logits_to_keep,
                                               batch_size=None, compute_entropy=False, compute_aux_loss=False,
                                               **image_kwargs):
            logps, entropies = self.per_token_logps(model, input_ids, attention_mask, logits_to_keep,
                                                    batch_size=batch_size, compute_entropy=compute_entropy)
            return logps, entropies, None  # no MoE auxiliary loss in Qwen2.5-VL

        # ours -> TRL's (what a subclass calls to run TRL's own step)
        def generate_and_score(self, inputs):
            return GRPOTrainer._generate_and_score_completions(self, inputs)

        def tokenize_prompts(self, prompts):
            return GRPOTrainer._tokenize_prompts(self, prompts)

        def compute_policy_loss(self, model, inputs):
            return GRPOTrainer._compute_loss(self, model, inputs)

        def per_token_logps(self, model, input_ids, attention_mask, logits_to_keep, *, batch_size=None,
                            compute_entropy=False):
            logps, entropies, _ = GRPOTrainer._get_per_token_logps_and_entropies(
                self, model, input_ids, attention_mask, logits_to_keep, batch_size=batch_size,
                compute_entropy=compute_entropy)
            return logps, entropies

        def fused_log_probs(self, model, labels: torch.Tensor, **inputs) -> tuple[torch.Tensor, torch.Tensor | None]:
            """(per-token log-probs, entropies) of `labels` from TRL's fused LM head, under the trainer's autocast."""
            with self.accelerator.autocast():
                out = model(labels=labels, fused_lm_head=True, **inputs)
            return out.log_probs, out.entropy

    return GRPOHooks
