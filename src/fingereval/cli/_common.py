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
RUBRIC_HELP = ("rubric: a YAML or JSON file of dimensions, weights and question templates (docs/rubric.md), or a "
               "shipped rubric's name (finger, camera_motion); default: FingER's five dimensions")


def video_config(fps: float, max_frames: int, size: int, keep_aspect: bool = False) -> VideoConfig:
    try:
        return VideoConfig(fps=fps, max_frames=max_frames, size=size, keep_aspect=keep_aspect)
    except ValueError as e:
        raise typer.BadParameter(str(e)) from None


# ---- pip extras: a command whose extra is missing says so in one line, before it starts (docs/install.md) ----

def _local_answerer(o: dict) -> list[str]:
    return ["local"] if str(o.get("answerer") or "").strip().lower() == "transformers" else []


def _local_generator(o: dict) -> list[str]:
    return ["local"] if str(o.get("generator") or "").strip().lower() == "local" else []


def _png(o: dict) -> list[str]:
    return ["plots"] if o.get("png") else []


# command path (or group) -> the extras it needs, given its options; the rest of a command needs none, and an
# import of a missing extra's module that this table does not foresee is caught by guard_extras all the same
NEEDS: dict[str, Callable[[dict], list[str]]] = {
    "questions": _local_generator,
    "score": lambda o: _local_answerer(o) + _local_generator(o) + (["ray"] if o.get("workers") else []),
    "serve": lambda o: ["serve"] + _local_answerer(o) + _local_generator(o),
    "tiny-model": lambda o: ["local"],
    "demo": lambda o: ["train"],
    "export": lambda o: ["parquet"] if str(o.get("to") or "").strip().lower() == "parquet" else [],
    "calibrate": lambda o: ["local"] + _png(o),
    "train": lambda o: ["train"],
    "data reasons": lambda o: ["local"],
    "bench qa": lambda o: ["local"] + _png(o),
    "bench levels": lambda o: ["local"],
    "bench stability": lambda o: ["local"],
    "bench severity": lambda o: ["local", "plots"],
    "annotate serve": lambda o: ["annotate"],
}


def needs_extras(path: str, func: F) -> F:
    """`func` (the command `fingereval <path>`) that first checks the extras NEEDS names for its options, and turns
    an import of a missing extra's module into the same one line; exit code 2, no traceback."""
    from fingereval import extras

    needs = NEEDS.get(path) or NEEDS.get(path.partition(" ")[0]) or (lambda o: [])

    def refuse(message: str):
        typer.echo(f"error: {message}", err=True)
        raise typer.Exit(2)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if missing := extras.missing(needs(kwargs)):
            refuse(extras.needs_message(f"fingereval {path}", missing))
        try:
            return func(*args, **kwargs)
        except ImportError as e:
            if (known := extras.missing_extra_error(f"fingereval {path}", e)) is None:
                raise
            refuse(str(known))
    return wrapper  # type: ignore[return-value]


def guard_extras(app: typer.Typer, prefix: str = "") -> None:
    """Every command registered on `app` and its groups, wrapped by needs_extras (before the first call builds
    the click commands: typer reads `registered_commands` then)."""
    from typer.main import get_command_name

    for info in app.registered_commands:
        if info.callback is not None:
            name = info.name or get_command_name(info.callback.__name__)
            info.callback = needs_extras(f"{prefix}{name}", info.callback)
    for group in app.registered_groups:
        if group.typer_instance is not None and isinstance(group.name, str):
            guard_extras(group.typer_instance, f"{prefix}{group.name} ")
