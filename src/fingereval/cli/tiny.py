"""`fingereval tiny-model | demo`: the tiny world, offline: a random Qwen2.5-VL and the whole method on probes."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from fingereval.cli._common import err, fail, out
from fingereval.errors import FingerEvalError


def tiny_model(out_dir: Path = typer.Argument(..., help="folder to write the checkpoint to"),
               seed: int = typer.Option(0, help="random seed of the weights"),
               probes: bool = typer.Option(False, "--probes", help="the shape the demo trains on 112-px probe videos (8 frames per video patch)"),
               change_filters: int = typer.Option(0, min=0, help="with --probes: start this many patch-embedding filters "
                                                  "as temporal steps (colour/shape changes; docs/tiny-model.md)")):
    """Write a tiny random Qwen2.5-VL checkpoint (real classes, tokenizer, processor) for tests and demos."""
    import dataclasses

    from fingereval.tiny.model import PROBE_SHAPE, TinyShape, build_tiny_model

    if change_filters and not probes:
        raise typer.BadParameter("--change-filters needs --probes (the 8-frame probe shape)", param_hint="--change-filters")
    shape = dataclasses.replace(PROBE_SHAPE, change_filters=change_filters) if probes else TinyShape()
    try:
        path = build_tiny_model(out_dir, shape, seed=seed)
    except ValueError as e:
        if not change_filters:
            raise
        raise typer.BadParameter(str(e), param_hint="--change-filters") from None
    err.print(f"wrote tiny Qwen2.5-VL checkpoint to {path}; use it with --model {path}")


def demo(out_dir: Path = typer.Option(Path("demo_out"), help="where the probes, models and results go"),
         n_videos: int = typer.Option(1000, help="probe videos to make (80 % train, 20 % held out)"),
         seed: int = typer.Option(0),
         epochs: Optional[float] = typer.Option(None, help="SFT epochs (default 10)")):
    """The whole method offline on CPU: probes, tiny model, accuracy before, SFT with reasons, accuracy after."""
    from fingereval.tiny.demo import run_demo

    try:
        run_demo(out_dir, n_videos=n_videos, seed=seed, console=out, epochs=epochs)
    except FingerEvalError as e:
        fail(e)
