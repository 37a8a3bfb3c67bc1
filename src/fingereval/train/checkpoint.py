"""Load a model for training and save what the answerer loads back (`TransformersAnswerer(model=DIR)`)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch

from fingereval.answer.transformers_backend import load_model_and_processor, pick_device

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


def training_device_and_dtype(device: str | None) -> tuple[str, torch.dtype]:
    """float32 on CPU (bfloat16 matmuls are slow there and noisy for tiny models), bfloat16 on GPU."""
    device = pick_device(device)
    return device, (torch.bfloat16 if device.startswith("cuda") else torch.float32)


def load_for_training(model: str | Path, device: str | None = None):
    """(model, processor, device) for a hub id or checkpoint folder, through the answerer's loader."""
    device, dtype = training_device_and_dtype(device)
    net, processor = load_model_and_processor(model, device, dtype)
    net.model.rope_deltas = None  # never start from positions cached by an earlier forward
    return net.train(), processor, device


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
