"""Supervised fine-tuning on FingER-Instruct: video + question -> `<think>reason</think><answer>Yes</answer>`.

TRL's SFTTrainer runs the loop; our collator (fingereval.train.collate) builds every batch, because
the stock preparation would drop the video and the stock assistant mask is empty for Qwen's template.
The checkpoint is a plain `save_pretrained` folder (LoRA merged) that `TransformersAnswerer` loads.
"""
from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path

from fingereval.train.checkpoint import TrainResult, load_for_training, require_fp32_trainable, save_checkpoint
from fingereval.train.collate import PackedSFTCollator, SFTCollator, video_groups
from fingereval.train.examples import ClipCache, TrainData, training_rows
from fingereval.train.progress import say, use_rich_log
from fingereval.video import VideoConfig

# The language model's attention and MLP projections; the vision tower has its own `*_proj` layers,
# which the name pattern leaves out (a regex in PEFT must match the whole module name).
LORA_TARGETS = r".*language_model.*\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)"
DEFAULT_LR_LORA = 2e-4
DEFAULT_LR_FULL = 1e-5
SCHEDULES = {"cosine": "cosine", "linear": "linear", "constant": "constant_with_warmup"}


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
    """TRL's SFTConfig for a trainer whose data collator builds every batch (ours, with the video)."""
    from trl import SFTConfig

    return SFTConfig(
        output_dir=str(out), num_train_epochs=epochs, learning_rate=lr, per_device_train_batch_size=batch_size,
        gradient_accumulation_steps=grad_accum, warmup_steps=warmup, lr_scheduler_type=SCHEDULES[schedule],
        weight_decay=0.0,
        logging_steps=log_every, logging_first_step=True, save_strategy="no", report_to="none",
        activation_checkpointing=False, bf16=device.startswith("cuda"), use_cpu=device == "cpu", seed=seed,
        # the collator needs every column, and builds the tokens itself (see fingereval.train.collate)
        remove_unused_columns=False, dataset_kwargs={"skip_prepare_dataset": True}, max_length=None,
        dataloader_num_workers=0, dataloader_pin_memory=False, disable_tqdm=True,
        # each step's rows sorted into micro-batches of similar length (the dataset's `length` column)
        train_sampling_strategy="batch_rebalance" if balance_lengths else "random",
    )


def lora_config(rank: int = 16):
    from peft import LoraConfig

    return LoraConfig(r=rank, lora_alpha=2 * rank, lora_dropout=0.0, target_modules=LORA_TARGETS, task_type="CAUSAL_LM")


def train_sft(
    data: TrainData,
    model: str | Path,
    out: str | Path,
    *,
    reason: bool = True,
    lora: bool = True,
    epochs: float = 2.0,
    lr: float | None = None,
    batch_size: int = 4,
    grad_accum: int = 1,
    video_config: VideoConfig = VideoConfig(),
    lora_rank: int = 16,
    warmup: float = 0.03,
    schedule: str = "cosine",
    seed: int = 0,
    log_every: int = 10,
    device: str | None = None,
    pack: bool = True,
    freeze_vision: bool = False,
    micro_batches: int = 1,
) -> TrainResult:
    """Fine-tune `model` on `data` (a FingER-Instruct JSONL path or records) and save it to `out`.

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
    """
    from datasets import Dataset
    from trl import SFTTrainer

    if micro_batches < 1 or batch_size % micro_batches:
        raise ValueError(f"micro_batches must divide batch_size ({batch_size}), got {micro_batches}")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")
    rows = training_rows(data)
    net, processor, device = load_for_training(model, device, lora=lora)
    lr = lr if lr is not None else (DEFAULT_LR_LORA if lora else DEFAULT_LR_FULL)
    if freeze_vision:
        freeze(net.model.visual)
    attention = net.config._attn_implementation
    if pack and attention != "sdpa":  # sdpa takes the boolean block mask as it is; say so rather than go slower silently
        say(packing_off_message(model, attention))
    pack = pack and attention == "sdpa"
    clips = ClipCache(video_config)
    groups = video_groups(rows)
    if pack:
        dataset, collator = groups, PackedSFTCollator(processor, clips, reason=reason,
                                                                  rope_index=net.model.get_rope_index)
    else:
        dataset, collator = rows, SFTCollator(processor, clips, reason=reason)
    if micro_batches > 1:
        dataset = [dict(row, length=collator.length(row)) for row in dataset]
    args = collator_sft_config(out, epochs=epochs, lr=lr, batch_size=batch_size // micro_batches,
                               grad_accum=grad_accum * micro_batches, warmup=warmup, schedule=schedule,
                               log_every=log_every, device=device, seed=seed, balance_lengths=micro_batches > 1)
    trainer = SFTTrainer(
        model=net, args=args, train_dataset=Dataset.from_list(dataset), processing_class=processor,
        data_collator=collator,
        peft_config=lora_config(lora_rank) if lora else None,
    )
    require_fp32_trainable(trainer.model)  # LoRA adapters included (PEFT upcasts them over a bf16 base)
    # Qwen2.5-VL declares no loss kwargs, so the Trainer would average the micro-batches' means (a short row's
    # tokens would weigh more than a long row's); counting the step's tokens lets TRL's loss divide by them.
    trainer.model_accepts_loss_kwargs = True
    use_rich_log(trainer, "SFT")
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    settings = {"stage": "sft", "base_model": str(model), "reason": reason, "lora": lora, "epochs": epochs, "lr": lr,
                "batch_size": batch_size, "grad_accum": grad_accum, "schedule": schedule, "warmup": warmup,
                "video_config": asdict(video_config),
                "examples": len(rows), "videos": len(groups), "packed": pack, "attention": attention,
                "freeze_vision": freeze_vision,
                "micro_batches": micro_batches, "seed": seed, "seconds": round(seconds, 1)}
    out_dir = save_checkpoint(trainer.model, processor, out, trainer.state.log_history, settings)
    return TrainResult(out_dir=out_dir, log_history=list(trainer.state.log_history), seconds=seconds)
