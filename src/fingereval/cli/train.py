"""`fingereval train sft|grpo`: fine-tune your own evaluator on FingER-Instruct JSONL."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from fingereval.cli._common import VIDEO, err, fail, video_config as _video_config

train_app = typer.Typer(help="Train your own evaluator: SFT with reasons, then GRPO.", no_args_is_help=True)

TRAIN_LOG_NOTE = "train_log.json records the video settings"
CONFIG_HELP = ("YAML file of {cls} fields (TRL's and fingereval's: see fingereval.train.training_config), read as "
               "TRL's parser reads it; flags given on the command line override it")


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether option `name` was given (command line or environment), not left at its default."""
    source = ctx.get_parameter_source(name)  # by name: typer ships its own copy of click's ParameterSource
    return source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP")


def _config(ctx: typer.Context, cls, build, path: Optional[Path], out: Path, options: dict):
    """The run's config: the YAML file's (if any) with the flags given explicitly, else every flag; `--out` always."""
    from fingereval.errors import FingerEvalError
    from fingereval.train.training_config import load_config

    base = None
    if path is not None:
        try:
            base = load_config(cls, path)
        except FingerEvalError as e:
            fail(e)
        options = {name: value for name, value in options.items() if _given(ctx, name)}
    try:
        return build(out, base=base, **options)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None


def _run(train, **kwargs):
    from fingereval.errors import FingerEvalError

    try:
        return train(**kwargs)
    except FingerEvalError as e:
        fail(e)


def _report(result, keys: list[tuple[str, str]]) -> None:
    parts = []
    for key, name in keys:
        values = result.logged(key)
        if values:
            parts.append(f"{name} {values[0]:.4g} -> {values[-1]:.4g}")
    err.print(f"saved to {result.out_dir} in {result.seconds:.0f}s; " + ", ".join(parts), soft_wrap=True)
    err.print(f"use it with --model {result.out_dir}, sampling video as in training ({TRAIN_LOG_NOTE})", soft_wrap=True)
    from fingereval.train.training_config import TRAINING_CONFIG_FILE

    saved = result.out_dir / TRAINING_CONFIG_FILE
    if saved.exists():
        err.print(f"repeat the run with --config {saved}", soft_wrap=True, highlight=False)


@train_app.command("sft")
def sft(
    ctx: typer.Context,
    data: Path = typer.Option(..., "--data", help="FingER-Instruct JSONL (video, question, answer, reason)"),
    model: str = typer.Option(..., "--model", help="hub id or checkpoint folder to start from"),
    out: Path = typer.Option(..., "--out", help="folder to save the fine-tuned checkpoint (loads with --model)"),
    reason: bool = typer.Option(True, "--reason/--no-reason", help="train <think>reason</think><answer> or <answer> only"),
    lora: bool = typer.Option(True, "--lora/--full", help="LoRA on the language model (merged on save), or all weights"),
    epochs: float = typer.Option(2.0, "--epochs", min=0.01),
    lr: Optional[float] = typer.Option(None, "--lr", help="learning rate [default: 2e-4 LoRA, 1e-5 full]"),
    batch_size: int = typer.Option(4, "--batch-size", min=1, help="rows per step: videos when packed, else questions"),
    grad_accum: int = typer.Option(1, "--grad-accum", min=1, help="gradient accumulation steps"),
    micro_batches: int = typer.Option(1, "--micro-batches", min=1,
                                      help="split each step's rows into N micro-batches of similar length: "
                                           "the same step, less padding (N must divide --batch-size)"),
    pack: bool = typer.Option(True, "--pack/--no-pack",
                              help="all questions of a video in one row, laid out as shared-prefix scoring reads it"),
    lora_rank: int = typer.Option(16, "--lora-rank", min=1),
    gradient_checkpointing: bool = typer.Option(False, "--gradient-checkpointing/--no-gradient-checkpointing",
                                                help="recompute activations in the backward pass: less memory, slower steps"),
    freeze_vision: bool = typer.Option(False, "--freeze-vision/--train-vision",
                                       help="with --full: keep the vision tower and merger as they are"),
    schedule: str = typer.Option("cosine", "--schedule", help="learning-rate schedule: cosine, linear or constant"),
    warmup: float = typer.Option(0.03, "--warmup", min=0.0, help="warmup: a share of the steps (< 1) or a step count"),
    max_frames: int = typer.Option(VIDEO.max_frames, "--max-frames", help="must match scoring"),
    size: int = typer.Option(VIDEO.size, "--size", help="frame side in pixels; must match scoring"),
    fps: float = typer.Option(VIDEO.fps, "--fps", help="sampled frames per second; must match scoring"),
    seed: int = typer.Option(0, "--seed"),
    log_every: int = typer.Option(10, "--log-every", min=1, help="log every N optimiser steps"),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda, cuda:1 [default: cuda if available]"),
    config: Optional[Path] = typer.Option(None, "--config", help=CONFIG_HELP.format(cls="VideoSFTConfig")),
):
    """Supervised fine-tuning with the video: targets are exactly the format the answerer parses."""
    from fingereval.train.training_config import SCHEDULES, VideoSFTConfig, sft_config
    from fingereval.train.sft import train_sft

    if schedule not in SCHEDULES and (config is None or _given(ctx, "schedule")):
        raise typer.BadParameter(f"--schedule must be one of {', '.join(SCHEDULES)}, got {schedule!r}")
    if config is None and batch_size % micro_batches:
        raise typer.BadParameter(f"--micro-batches ({micro_batches}) must divide --batch-size ({batch_size})")

    options = dict(reason=reason, lora=lora, epochs=epochs, lr=lr, batch_size=batch_size, grad_accum=grad_accum,
                   lora_rank=lora_rank, schedule=schedule, warmup=warmup, fps=fps, max_frames=max_frames, size=size,
                   seed=seed, log_every=log_every, pack=pack, freeze_vision=freeze_vision, micro_batches=micro_batches,
                   gradient_checkpointing=gradient_checkpointing)
    settings = _config(ctx, VideoSFTConfig, sft_config, config, out, options)
    result = _run(train_sft, data=data, model=model, config=settings, device=device)
    _report(result, [("loss", "loss"), ("mean_token_accuracy", "token accuracy")])


# options the tiny world's stages (vision, align) share
ProbeDir = Annotated[Path, typer.Option("--probes", help="a probe folder (scenes.jsonl; qa_heldout.jsonl videos are held out)")]
ProbeMaxFrames = Annotated[int, typer.Option("--max-frames", help="must match SFT and scoring")]
ProbeSize = Annotated[int, typer.Option("--size", help="frame side in pixels; must match SFT and scoring")]
ProbeFps = Annotated[float, typer.Option("--fps", help="sampled frames per second; must match SFT and scoring")]
Seed = Annotated[int, typer.Option("--seed")]
Device = Annotated[Optional[str], typer.Option("--device", help="cpu, cuda, cuda:1 [default: cuda if available]")]


@train_app.command("vision")
def vision(
    probes: ProbeDir,
    model: str = typer.Option(..., "--model", help="checkpoint whose vision tower to pretrain (e.g. from `tiny-model --probes`)"),
    out: Path = typer.Option(..., "--out", help="folder to save the whole checkpoint with the pretrained tower"),
    epochs: int = typer.Option(6, "--epochs", min=1),
    lr: float = typer.Option(1e-3, "--lr"),
    batch_size: int = typer.Option(16, "--batch-size", min=1, help="videos per step"),
    max_frames: ProbeMaxFrames = 8,
    size: ProbeSize = 112,
    fps: ProbeFps = 2.0,
    low_res: float = typer.Option(0.0, "--low-res", min=0.0, max=1.0,
                                  help="share of draws that see a video shrunk 0.4-0.75x and brought back (docs/demo.md: tried, off)"),
    seed: Seed = 0,
    device: Device = None,
):
    """Pretrain a tiny model's vision tower on the probe videos' scene labels (the language model is not touched)."""
    from fingereval.tiny.vision import pretrain_vision

    result = _run(pretrain_vision, model=model, probe_dir=probes, out_dir=out, epochs=epochs, lr=lr, batch_size=batch_size,
                  video_config=_video_config(fps, max_frames, size), seed=seed, low_res=low_res, device=device,
                  on_log=lambda m: err.print(m, highlight=False))
    acc = "" if result.held_out_accuracy is None else f"; held-out scene-label balanced accuracy {result.held_out_accuracy:.3f}"
    err.print(f"saved to {result.out_dir} in {result.seconds:.0f}s{acc}; next: train sft --model {result.out_dir}",
              soft_wrap=True)


@train_app.command("align")
def align(
    probes: ProbeDir,
    model: str = typer.Option(..., "--model", help="checkpoint to align (e.g. from `train vision`)"),
    out: Path = typer.Option(..., "--out", help="folder to save the aligned checkpoint"),
    epochs: float = typer.Option(4.0, "--epochs", min=0.01),
    lr: float = typer.Option(1e-3, "--lr"),
    batch_size: int = typer.Option(16, "--batch-size", min=1, help="videos per step"),
    max_frames: ProbeMaxFrames = 8,
    size: ProbeSize = 112,
    fps: ProbeFps = 2.0,
    seed: Seed = 0,
    log_every: int = typer.Option(10, "--log-every", min=1, help="log every N optimiser steps"),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda, cuda:1 [default: cuda if available]"),
):
    """Teach a tiny model's language model to caption the probe videos (its vision tower frozen; no questions)."""
    from fingereval.tiny.align import align_captions

    result = _run(align_captions, model=model, probe_dir=probes, out=out, epochs=epochs, lr=lr, batch_size=batch_size,
                  video_config=_video_config(fps, max_frames, size), seed=seed, log_every=log_every, device=device)
    _report(result, [("loss", "loss"), ("mean_token_accuracy", "token accuracy")])


@train_app.command("grpo")
def grpo(
    ctx: typer.Context,
    data: Path = typer.Option(..., "--data", help="FingER-Instruct JSONL (video, question, answer)"),
    model: str = typer.Option(..., "--model", help="start model: an SFT checkpoint (cold start) or the base (zero)"),
    out: Path = typer.Option(..., "--out", help="folder to save the trained checkpoint"),
    steps: int = typer.Option(100, "--steps", min=1),
    group_size: int = typer.Option(16, "--group-size", min=2, help="completions sampled per question"),
    prompts_per_step: int = typer.Option(1, "--prompts-per-step", min=1, help="questions per optimiser step"),
    beta: float = typer.Option(0.04, "--beta", min=0.0, help="KL weight to the frozen start model"),
    lr: Optional[float] = typer.Option(None, "--lr", help="learning rate [default: 1e-5 LoRA, 1e-6 full]"),
    temperature: float = typer.Option(0.9, "--temperature", min=0.01),
    max_completion: int = typer.Option(128, "--max-completion", min=1, help="max new tokens per completion"),
    reward: str = typer.Option("accuracy", "--reward",
                               help="the answer reward, with the format reward: accuracy (the paper's: 1 when the answer "
                                    "is right) or graded (the model's probability of the right answer at the slot)"),
    questions: Optional[int] = typer.Option(None, "--questions", min=1,
                                            help="train on a fixed, seeded sample of N questions of --data [default: all]"),
    eval_data: Optional[Path] = typer.Option(None, "--eval-data",
                                             help="JSONL whose questions (a fixed sample) are rewarded before and after"),
    eval_questions: int = typer.Option(64, "--eval-questions", min=1, help="size of that fixed sample"),
    lora: bool = typer.Option(False, "--lora/--full",
                              help="float32 LoRA adapters on the language model over a frozen base, which with the "
                                   "adapters off is also the reference (merged on save); or all weights"),
    lora_rank: int = typer.Option(16, "--lora-rank", min=1),
    gradient_checkpointing: bool = typer.Option(False, "--gradient-checkpointing/--no-gradient-checkpointing",
                                                help="recompute activations in the backward pass: less memory, slower steps"),
    max_frames: int = typer.Option(VIDEO.max_frames, "--max-frames", help="must match scoring"),
    size: int = typer.Option(VIDEO.size, "--size", help="frame side in pixels; must match scoring"),
    fps: float = typer.Option(VIDEO.fps, "--fps", help="sampled frames per second; must match scoring"),
    seed: int = typer.Option(0, "--seed"),
    log_every: int = typer.Option(1, "--log-every", min=1),
    device: Optional[str] = typer.Option(None, "--device", help="cpu, cuda, cuda:1 [default: cuda if available]"),
    config: Optional[Path] = typer.Option(None, "--config", help=CONFIG_HELP.format(cls="VideoGRPOConfig")),
):
    """GRPO with accuracy (or graded) + format rewards and a KL penalty; every forward sees the video."""
    from fingereval.train.training_config import VideoGRPOConfig, grpo_config
    from fingereval.train.grpo import train_grpo

    options = dict(steps=steps, group_size=group_size, prompts_per_step=prompts_per_step, beta=beta, lr=lr,
                   temperature=temperature, max_completion=max_completion, reward=reward, fps=fps,
                   max_frames=max_frames, size=size, seed=seed, questions=questions, lora=lora, lora_rank=lora_rank,
                   gradient_checkpointing=gradient_checkpointing, log_every=log_every, eval_questions=eval_questions)
    settings = _config(ctx, VideoGRPOConfig, grpo_config, config, out, options)
    result = _run(train_grpo, data=data, model=model, config=settings, device=device, eval_data=eval_data)
    _report(result, [("reward", "reward"), ("rewards/accuracy_reward/mean", "accuracy"),
                     ("rewards/graded_reward/mean", "graded"),
                     ("rewards/format_reward/mean", "format"), ("kl", "kl"),
                     ("eval_reward", "reward on the fixed questions, before -> after"),
                     ("eval_rewards/accuracy_reward/mean", "its accuracy"),
                     ("eval_rewards/graded_reward/mean", "its graded reward"),
                     ("eval_rewards/format_reward/mean", "its format")])
