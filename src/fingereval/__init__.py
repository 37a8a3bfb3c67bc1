"""fingereval: fine-grained, explainable evaluation of generated videos (the FingER method)."""
from __future__ import annotations

__version__ = "0.1.0"  # the one source of the version: pyproject.toml reads it (setuptools dynamic), --version prints it
__all__ = ["Evaluator", "__version__"]


def __getattr__(name: str):
    if name == "Evaluator":  # imported lazily: torch and transformers are heavy
        from fingereval.evaluator import Evaluator

        return Evaluator
    raise AttributeError(name)
