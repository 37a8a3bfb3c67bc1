"""Train your own evaluator: SFT on answers with reasons, then GRPO (accuracy + format rewards, KL).

`train_sft`, `train_grpo`, `TrainResult` and the configs (`VideoSFTConfig`, `VideoGRPOConfig`: TRL's config
dataclasses with this project's fields; `load_config` reads one from YAML) are loaded on first use, so importing
this package (and `fingereval --help`) does not import torch or TRL.
"""
from __future__ import annotations

from fingereval.train.rewards import accuracy_reward, format_reward

_LAZY = {"train_sft": "fingereval.train.sft", "train_grpo": "fingereval.train.grpo",
         "TrainResult": "fingereval.train.checkpoint", "VideoSFTConfig": "fingereval.train.training_config",
         "VideoGRPOConfig": "fingereval.train.training_config", "load_config": "fingereval.train.training_config"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["TrainResult", "VideoGRPOConfig", "VideoSFTConfig", "accuracy_reward", "format_reward", "load_config",
           "train_grpo", "train_sft"]
