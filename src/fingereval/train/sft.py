"""Supervised fine-tuning on FingER-Instruct: video + question -> `<think>reason</think><answer>Yes</answer>`.

TRL's SFTTrainer runs the loop; our collator (fingereval.train.collate) builds every batch, because
the stock preparation would drop the video and the stock assistant mask is empty for Qwen's template.
The checkpoint is a plain `save_pretrained` folder (LoRA merged) that `TransformersAnswerer` loads.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

from fingereval.answer.hf_compat import attention_kernel, rope_index_fn, sum_loss_over_step_tokens, vision_tower
from fingereval.train.checkpoint import TrainResult, load_for_training, require_fp32_trainable, train_and_save
from fingereval.train.collate import PackedSFTCollator, SFTCollator, video_groups
from fingereval.train.training_config import (DEFAULT_LR_FULL, DEFAULT_LR_LORA, SCHEDULES,  # noqa: F401  (their home is training_config)
                                     VideoSFTConfig, require_output_dir, sft_config)
from fingereval.train.examples import ClipCache, TrainData, training_rows
from fingereval.train.progress import say, use_rich_log

# The language model's attention and MLP projections; the vision tower has its own `*_proj` layers,
# which the name pattern leaves out (a regex in PEFT must match the whole module name).
LORA_TARGETS = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"


def freeze(module) -> None:
    """No gradients for `module`: the optimiser leaves it as it is, and autograd builds no graph through it."""
    for p in module.parameters():
        p.requires_grad_(False)


def packing_off_message(model: str | Path, attention: str) -> str:
    """One line: packing was asked, the model's attention cannot take its block masks, what runs instead, the fix."""
    return (f"packing asked (--pack), but {model} uses {attention} attention: training one question per row instead "
            "(--batch-size counts questions, not videos); packing needs sdpa attention: set "
            '"attn_implementation": "sdpa" in the checkpoint\'s config.json, or pass --no-pack to silence this')


def collator_sft_config(out: str | Path, *, epochs: float, lr: float, batch_size: int, warmup: float, schedule: str,
                        log_every: int, device: str, seed: int, grad_accum: int = 1, balance_lengths: bool = False):
    """TRL's SFTConfig for a trainer whose data collator builds every batch (ours, with the video), on `device`.

    `balance_lengths`: each step's rows sorted into micro-batches of similar length (the dataset's `length` column).
    """
    config = sft_config(out, epochs=epochs, lr=lr, batch_size=batch_size, grad_accum=grad_accum, warmup=warmup,
                        schedule=schedule, log_every=log_every, seed=seed)
    args = config.trainer_args(device)
    return dataclasses.replace(args, train_sampling_strategy="batch_rebalance") if balance_lengths else args


def lora_config(rank: int = 16):
    from peft import LoraConfig

    return LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.0, target_modules=LORA_TARGETS, task_type="CAUSAL_LM")


def train_sft(data: TrainData, model: str | Path, out: str | Path | None = None, *,
              config: VideoSFTConfig | None = None, device: str | None = None, **options) -> TrainResult:
    """Fine-tune `model` on `data` (a FingER-Instruct JSONL path or records) and save it to `out`.

    The settings are a `VideoSFTConfig` (fingereval.train.training_config): `config`, or its defaults, with `options`
    applied (field names, or the short names epochs, lr, batch_size, grad_accum, warmup, schedule, log_every,
    pack, gradient_checkpointing and video_config); `out` sets its output_dir. The config is saved beside the checkpoint
    (training_config.yaml). `device` (cpu, cuda, cuda:1; default: cuda if available) is where it runs.

    `reason=True` trains `<think>reason</think><answer>..</answer>` (records without a reason fall back
    to the answer alone); `reason=False` trains `<answer>..</answer>`. `video_config` must be the one
    the answerer will use at scoring time. `lr=None` picks 2e-4 for LoRA, 1e-5 for full fine-tuning.
    `warmup` is a share of the steps (< 1) or a step count; `schedule` is cosine, linear or constant.
    `pack=True` trains all questions of a video in one row laid out as shared-prefix scoring reads it
    (`batch_size` then counts videos, an epoch is every video once); it needs sdpa or eager attention
    (block masks) and falls back to one question per row otherwise. `freeze_vision=True` keeps the vision
    tower and its merger as they are (full fine-tuning then trains the language model only, as Qwen's own
    fine-tuning recipe does by default; LoRA already leaves the tower alone).
    `micro_batches > 1` splits each step's `batch_size` rows into that many micro-batches of similar
    length (transformers' `batch_rebalance` sampler) and accumulates them: the loss is still normalised
    by the step's label-token count, so the step is the same, with less padding (1.17x faster in
    benchmarks/bench_sft_micro_batches.py).
    `gradient_checkpointing=True` keeps only each layer's input in the forward and recomputes the layer in the
    backward pass: the same step with far less activation memory, about a third more compute (docs/training.md
    gives the arithmetic at 7B). With LoRA, TRL makes the frozen embeddings' output require grad, so that the
    gradient reaches the adapters through the recomputed layers; the KV cache is off in training forwards.
    """
    config = sft_config(out, base=config, **options)
    require_output_dir(config, "train_sft")
    rows = training_rows(data)
    net, processor, device = load_for_training(model, device, lora=config.lora)
    if config.freeze_vision:
        freeze(vision_tower(net))
    attention = attention_kernel(net)
    packed = packing_used(config.pack_questions, model, attention)
    dataset, collator = sft_rows_and_collator(rows, processor, config, packed, rope_index=rope_index_fn(net))
    trainer = sft_trainer(net, processor, dataset, collator, config, device)
    settings = sft_settings(config, model, examples=len(rows), videos=len(video_groups(rows)), packed=packed,
                            attention=attention)
    return train_and_save(trainer, processor, config, settings)


def packing_used(asked: bool, model: str | Path, attention: str) -> bool:
    """Whether rows are packed: asked, and the attention takes the boolean block masks as they are (sdpa).
    Falling back is said in one line rather than done silently."""
    if asked and attention != "sdpa":
        say(packing_off_message(model, attention))
    return asked and attention == "sdpa"


def sft_rows_and_collator(rows: Sequence[Mapping], processor, config: VideoSFTConfig, packed: bool,
                          rope_index=None) -> tuple[list[dict], SFTCollator]:
    """The dataset rows (one per video when `packed`, else one per question) and the collator that batches them."""
    clips = ClipCache(config.video_config())
    if packed:
        dataset, collator = video_groups(rows), PackedSFTCollator(processor, clips, reason=config.reason,
                                                                  rope_index=rope_index)
    else:
        dataset, collator = list(rows), SFTCollator(processor, clips, reason=config.reason)
    if config.micro_batches > 1:  # the batch_rebalance sampler sorts each step's rows by this column
        dataset = [dict(row, length=collator.length(row)) for row in dataset]
    return dataset, collator


def sft_trainer(net, processor, dataset: list[dict], collator: SFTCollator, config: VideoSFTConfig, device: str):
    """TRL's SFTTrainer over `dataset`, our collator building every batch, float32 weights checked."""
    from datasets import Dataset
    from trl import SFTTrainer

    trainer = SFTTrainer(
        model=net, args=config.trainer_args(device), train_dataset=Dataset.from_list(dataset),
        processing_class=processor, data_collator=collator,
        peft_config=lora_config(config.lora_rank) if config.lora else None,
    )
    require_fp32_trainable(trainer.model)  # LoRA adapters included (PEFT upcasts them over a bf16 base)
    sum_loss_over_step_tokens(trainer)  # micro-batches of unequal length weigh by their tokens
    use_rich_log(trainer, "SFT")
    return trainer


def sft_settings(config: VideoSFTConfig, model: str | Path, *, examples: int, videos: int, packed: bool,
                 attention: str) -> dict:
    """The run's record in train_log.json (the full config is saved beside it)."""
    schedule = getattr(config.lr_scheduler_type, "value", config.lr_scheduler_type)
    return {"stage": "sft", "base_model": str(model), "reason": config.reason, "lora": config.lora,
            "epochs": config.num_train_epochs, "lr": config.learning_rate,
            "batch_size": config.per_device_train_batch_size, "grad_accum": config.gradient_accumulation_steps,
            "schedule": {v: k for k, v in SCHEDULES.items()}.get(schedule, schedule), "warmup": config.warmup_steps,
            "video_config": dataclasses.asdict(config.video_config()),
            "examples": examples, "videos": videos, "packed": packed, "attention": attention,
            "freeze_vision": config.freeze_vision, "micro_batches": config.micro_batches,
            "gradient_checkpointing": config.activation_checkpointing, "seed": config.seed}
