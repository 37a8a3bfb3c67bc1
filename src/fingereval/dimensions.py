"""The default rubric's dimensions (FingER's five), as the names the rest of the package has always read.

The dimensions live in a rubric file, `src/fingereval/rubrics/finger.yaml` (fingereval.rubric, docs/rubric.md).
What a custom rubric changes is threaded through as a `Rubric`; these names are the default's view.
"""
from __future__ import annotations

from fingereval.rubric import Dimension, default_rubric

DEFAULT = default_rubric()
DIMENSIONS: tuple[Dimension, ...] = DEFAULT.dimensions
DIMENSION_KEYS: tuple[str, ...] = DEFAULT.keys
BY_KEY: dict[str, Dimension] = dict(DEFAULT.by_key)


def normalize_dimension(name: str) -> str:
    """Return the default rubric's key for a dimension name or alias, or raise DataError naming the valid keys."""
    return DEFAULT.normalize(name)
