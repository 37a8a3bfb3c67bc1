"""Training keeps float32 master weights: in bfloat16 the small steps GRPO takes (lr 1e-6) round away."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from fingereval.errors import ConfigError
from fingereval.train.checkpoint import load_for_training, require_fp32_trainable, training_dtype
from fingereval.video import VideoConfig

VIDEO = VideoConfig(size=112, max_frames=4)


def _changed(before: torch.Tensor, after: torch.Tensor) -> float:
    return float((before != after).float().mean())


def test_full_fine_tuning_loads_float32_master_weights_on_every_device():
    assert training_dtype("cuda") == training_dtype("cuda:1") == training_dtype("cpu") == torch.float32
    assert training_dtype("cpu", lora=True) == torch.float32
    assert training_dtype("cuda", lora=True) == torch.bfloat16  # only a frozen LoRA base, never stepped


def test_the_loader_gives_float32_whatever_the_checkpoint_holds_and_refuses_bfloat16_master_weights(
        tiny_model_dir, tmp_path):
    from fingereval.answer.transformers_backend import load_model_and_processor

    net, processor = load_model_and_processor(tiny_model_dir)
    net.to(torch.bfloat16).save_pretrained(tmp_path / "bf16")  # a checkpoint stored in bfloat16
    processor.save_pretrained(tmp_path / "bf16")
    loaded, _, _ = load_for_training(tmp_path / "bf16", "cpu")
    assert {p.dtype for p in loaded.parameters()} == {torch.float32}
    require_fp32_trainable(loaded)

    with pytest.raises(ConfigError, match="full fine-tuning keeps float32 master weights, not bfloat16"):
        load_for_training(tiny_model_dir, "cpu", dtype=torch.bfloat16)
    with pytest.raises(ConfigError, match=r"trained weight tensors are bfloat16 .*float32 master weights"):
        require_fp32_trainable(loaded.to(torch.bfloat16))  # e.g. a model loaded elsewhere and handed in
    for p in loaded.parameters():  # a frozen bfloat16 base (LoRA's) is fine: the optimiser never steps it
        p.requires_grad_(False)
    require_fp32_trainable(loaded)


def test_adamw_at_lr_1e6_rounds_away_in_bfloat16_and_moves_float32_weights(tiny_model_dir):
    """The measured fact behind the policy, on a real weight matrix of the tiny model."""
    from fingereval.answer.transformers_backend import load_model_and_processor

    weight = load_model_and_processor(tiny_model_dir)[0].model.language_model.layers[0].mlp.down_proj.weight.detach()
    torch.manual_seed(0)
    grads = [torch.randn_like(weight) for _ in range(10)]
    moved = {}
    for dtype in (torch.float32, torch.bfloat16):
        p = torch.nn.Parameter(weight.to(dtype).clone())
        opt = torch.optim.AdamW([p], lr=1e-6, weight_decay=0.0)
        for g in grads:
            p.grad = g.to(dtype)
            opt.step()
        moved[dtype] = _changed(weight.to(dtype), p.detach())
    assert moved[torch.float32] > 0.99, moved  # measured: 99.9 %
    assert moved[torch.bfloat16] < 0.05, moved  # measured: 0.4 %; a ~1e-6 step is below half a bfloat16 ulp


def test_sft_at_lr_1e6_with_bf16_autocast_over_float32_weights_moves_nearly_every_weight(
        tiny_model_dir, red_video, blue_static_video, tmp_path):
    """The CUDA configuration (float32 weights, `bf16=True` autocast), run on the CPU with TRL's SFTTrainer."""
    from datasets import Dataset
    from trl import SFTTrainer

    from fingereval.train.collate import SFTCollator
    from fingereval.train.examples import ClipCache, training_rows
    from fingereval.train.sft import collator_sft_config

    records = [{"video": str(red_video), "question": "Does the square move?", "answer": "yes", "reason": "It slides."},
               {"video": str(blue_static_video), "question": "Is the square red?", "answer": "no", "reason": "It is blue."}]
    net, processor, _ = load_for_training(tiny_model_dir, "cpu")
    start = {n: p.detach().clone() for n, p in net.named_parameters()}
    args = collator_sft_config(tmp_path / "o", epochs=1, lr=1e-6, batch_size=2, warmup=0, schedule="constant",
                               log_every=1, device="cpu", seed=0)
    args = dataclasses.replace(args, bf16=True, max_steps=3)  # what collator_sft_config sets on CUDA
    trainer = SFTTrainer(model=net, args=args, train_dataset=Dataset.from_list(training_rows(records)),
                         processing_class=processor,
                         data_collator=SFTCollator(processor, ClipCache(VIDEO), reason=True))
    assert trainer.accelerator.mixed_precision == "bf16"
    trainer.train()
    total = sum(p.numel() for p in net.parameters())
    changed = sum(int((p.detach() != start[n]).sum()) for n, p in net.named_parameters())
    assert changed / total > 0.999, changed / total  # measured: 99.999 % (tied embeddings: every row gets a gradient)
