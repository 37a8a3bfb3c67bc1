"""What every command group shares: one error line and exit code, warnings, JSON output, progress, video options."""
from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from fingereval.errors import FingerEvalError
from fingereval.video import VideoConfig

err = Console(stderr=True)
out = Console()
F = TypeVar("F", bound=Callable[..., Any])


def fail(e: Exception, code: int = 2):
    """One clear line on stderr and a non-zero exit: user errors are not tracebacks."""
    err.print(f"[red]error:[/red] {escape(str(e))}", highlight=False, markup=True, soft_wrap=True)  # a "[/x]" in a path
    raise typer.Exit(code)


def warn(message: str) -> None:
    err.print(f"warning: {message}", highlight=False, markup=False, soft_wrap=True)


def reports_errors(func: F) -> F:
    """A command whose FingerEvalError becomes one line on stderr ("error (Kind): ...") and exit code 2."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FingerEvalError as e:
            typer.echo(f"error ({e.kind}): {e}", err=True)
            raise typer.Exit(2) from None
    return wrapper  # type: ignore[return-value]


def print_json(obj: Any) -> None:
    """Exactly one JSON object on stdout (NaN refused: JSON has none)."""
    typer.echo(json.dumps(obj, allow_nan=False))


def progress(label: str, enabled: bool = True):
    """The one progress bar the commands show (on stderr, gone when done)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn(f"[bold]{label}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=err, disable=not enabled, transient=True)


# video options, their defaults taken from VideoConfig (the one place they are set)
Fps = Annotated[float, typer.Option(help="frames per second sampled")]
MaxFrames = Annotated[int, typer.Option(help="frame budget per video")]
Size = Annotated[int, typer.Option(help="frames resized to SIZE x SIZE (probe videos: 112)")]
KeepAspect = Annotated[bool, typer.Option("--keep-aspect", help="keep the aspect ratio: sides in multiples of 28 "
                                          "within SIZE*SIZE pixels (Qwen's resize) instead of SIZE x SIZE")]
VIDEO = VideoConfig()


def video_config(fps: float, max_frames: int, size: int, keep_aspect: bool = False) -> VideoConfig:
    try:
        return VideoConfig(fps=fps, max_frames=max_frames, size=size, keep_aspect=keep_aspect)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None
