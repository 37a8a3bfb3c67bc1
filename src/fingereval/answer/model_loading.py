"""Load a Qwen2-VL-family model and its processor, from a hub id or a checkpoint folder, on a device."""
from __future__ import annotations

from pathlib import Path

import torch

from fingereval.answer.hf_compat import has_mrope
from fingereval.answer.hub import check_model
from fingereval.errors import ConfigError


def pick_device(device: str | None) -> str:
    if device and device != "auto":
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def pick_dtype(dtype: str | None, device: str) -> torch.dtype:
    if dtype and dtype != "auto":
        return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]
    return torch.bfloat16 if device.startswith("cuda") else torch.float32


def load_model_and_processor(model: str | Path, device: str = "cpu", dtype: torch.dtype = torch.float32):
    """Load a hub id or a local checkpoint directory through the same code path."""
    from transformers import AutoModelForImageTextToText, AutoProcessor
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # keep stderr for our own messages

    files = check_model(model)  # a wrong id, a gated model or no network is named here, before any weights load
    try:
        processor = AutoProcessor.from_pretrained(files.source, local_files_only=files.local_only)
        net = AutoModelForImageTextToText.from_pretrained(files.source, dtype=dtype, local_files_only=files.local_only)
    except (OSError, ValueError) as e:  # no weights / no processor files / unknown architecture
        raise ConfigError(
            f"model {model}: cannot load ({str(e).splitlines()[0][:160]}); give a checkpoint folder saved with "
            "save_pretrained (model and processor) or a hub id that is downloaded"
        ) from None
    if not has_mrope(net):
        raise ConfigError(f"model {model}: {type(net).__name__} is not a Qwen2-VL-family model; this backend needs M-RoPE")
    return net.to(device).eval(), processor
