"""Load a model for training and save what the answerer loads back (`TransformersAnswerer(model=DIR)`)."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from fingereval.answer.hf_compat import forget_positions
from fingereval.answer.model_loading import load_model_and_processor, pick_device
from fingereval.errors import ConfigError

TRAIN_LOG_FILE = "train_log.json"


@dataclass
class TrainResult:
    """Where the checkpoint went and what training logged (the Trainer's log history)."""

    out_dir: Path
    log_history: list[dict] = field(default_factory=list)
    seconds: float = 0.0

    def logged(self, key: str) -> list[float]:
        """Every logged value of `key`, in step order (e.g. 'loss', 'reward', 'rewards/accuracy_reward/mean')."""
        return [float(e[key]) for e in self.log_history if e.get(key) is not None]


def training_dtype(device: str, *, lora: bool = False) -> torch.dtype:
    """The dtype a model is loaded in for training: float32 for every weight the optimiser steps.

    Why: the Trainer steps weights in the dtype they were loaded in. In bfloat16 an AdamW step at lr 1e-6 is
    below half a unit in the last place of most weights and rounds away (10 steps changed 2 % of the weights;
    99.98 % in float32). So full fine-tuning keeps float32 master weights everywhere, and on CUDA the trainers
    compute in bf16 autocast (`bf16=True` in the TRL config). Only a LoRA base, which is frozen, is bfloat16 on
    CUDA (half the memory); PEFT makes its adapters float32 (autocast_adapter_dtype).
    """
    return torch.bfloat16 if lora and device.startswith("cuda") else torch.float32


def load_for_training(model: str | Path, device: str | None = None, *, lora: bool = False,
                      dtype: torch.dtype | None = None):
    """(model, processor, device) for a hub id or checkpoint folder, through the answerer's loader.

    `dtype=None` picks `training_dtype`. Full fine-tuning (`lora=False`) refuses any dtype but float32:
    bfloat16 master weights would silently lose the optimiser's small steps.
    """
    device = pick_device(device)
    if dtype is None:
        dtype = training_dtype(device, lora=lora)
    elif not lora and dtype != torch.float32:
        raise ConfigError(
            f"full fine-tuning keeps float32 master weights, not {str(dtype).removeprefix('torch.')}: an AdamW step "
            "at lr 1e-6 rounds away in bfloat16; on CUDA training already runs in bf16 autocast (or use LoRA, whose "
            "frozen base may be bfloat16)")
    net, processor = load_model_and_processor(model, device, dtype)
    forget_positions(net)  # never start from positions cached by an earlier forward
    return net.train(), processor, device


def require_fp32_trainable(model) -> None:
    """Refuse a model whose optimiser would step non-float32 weights (see `training_dtype`)."""
    low = [(name, p.dtype) for name, p in model.named_parameters() if p.requires_grad and p.dtype != torch.float32]
    if low:
        name, dtype = low[0]
        raise ConfigError(
            f"{len(low)} trained weight tensors are {str(dtype).removeprefix('torch.')} (e.g. {name}); training needs "
            "float32 master weights (load with fingereval.train.checkpoint.load_for_training), with bf16 autocast on CUDA")


def merged(model):
    """The plain model: LoRA adapters merged into the weights, so the checkpoint loads without PEFT."""
    if hasattr(model, "merge_and_unload"):
        return model.merge_and_unload()
    return model


def save_checkpoint(model, processor, out_dir: str | Path, log_history: list[dict], settings: dict) -> Path:
    """save_pretrained of the (merged) model and the processor, plus a JSON record of the run."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    net = merged(model)
    net.save_pretrained(out)
    processor.save_pretrained(out)
    record = {"settings": settings, "log_history": log_history}
    (out / TRAIN_LOG_FILE).write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    return out


def train_and_save(trainer, processor, config, settings: dict) -> TrainResult:
    """Run `trainer`; save the (merged) checkpoint to `config.output_dir` with the run's record (`settings`, the
    seconds it took, the log) and the config beside it (training_config.yaml, loads back with --config)."""
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    log = trainer.state.log_history
    out_dir = save_checkpoint(trainer.model, processor, config.output_dir, log, {**settings, "seconds": round(seconds, 1)})
    config.save(out_dir)
    return TrainResult(out_dir=out_dir, log_history=list(log), seconds=seconds)
