"""`fingereval probes ...`: make the synthetic probe world."""
from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress

probes_app = typer.Typer(help="Synthetic probe videos with planted defects and known answers.", no_args_is_help=True)


@probes_app.command("make")
def make(
    out_dir: Path = typer.Argument(..., help="Folder to write videos/, qa.jsonl, ratings.jsonl, scenes.jsonl into."),
    n: int = typer.Option(200, "--n", min=1, help="Number of videos."),
    seed: int = typer.Option(0, "--seed", help="Same seed, same probes."),
    size: int = typer.Option(112, "--size", min=32, help="Frame side in pixels (even)."),
    seconds: float = typer.Option(4.0, "--seconds", help="Clip length, a multiple of 0.5 s, at least 2 s."),
    fps: int = typer.Option(8, "--fps", min=2, help="Rendered frames per second."),
    max_entities: int = typer.Option(3, "--max-entities", min=1, max=3, help="At most this many shapes per video."),
    radius: float = typer.Option(0.1, "--radius", min=0.05, max=0.2, help="Shape radius as a share of the frame side."),
    distractors: int = typer.Option(0, "--distractors", min=0, max=2,
                                     help="Up to this many unnamed shapes the prompt never mentions (still and clean unless --disguise)."),
    hard_share: float = typer.Option(0.0, "--hard-share", min=0.0, max=1.0,
                                     help="Share of videos whose defects are drawn weak (the hard tier)."),
    disguise: bool = typer.Option(False, "--disguise",
                                  help="Shapes the prompt does not name (recoloured, stand-ins, distractors) carry "
                                       "a named shape's defects, so only colour and shape tell them apart."),
    held_out: float = typer.Option(
        0.2, "--held-out", min=0.0, max=0.95,
        help="Share of videos for qa_heldout.jsonl (the rest go to qa_train.jsonl); 0 skips the split."),
) -> None:
    """Render N probe videos and write their FingER-Instruct questions and ground-truth ratings."""
    from fingereval.probes.make import make_probes, split_probes

    console = Console(stderr=True)
    start = time.perf_counter()
    try:
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task("rendering probes", total=n)
            probe_set = make_probes(out_dir, n, seed=seed, size=size, seconds=seconds, fps=fps,
                                    max_entities=max_entities, radius=radius, distractors=distractors,
                                    hard_share=hard_share, disguise=disguise,
                                    progress=lambda done, total: bar.update(task, completed=done))
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
    elapsed = time.perf_counter() - start
    console.print(f"{probe_set.n_videos} videos, {probe_set.n_questions} questions in {elapsed:.1f}s "
                  f"-> {probe_set.qa_path}, {probe_set.ratings_path}")
    if held_out > 0:
        train_path, held_path = split_probes(out_dir, held_out=held_out, seed=seed)
        console.print(f"split by video -> {train_path}, {held_path}")
