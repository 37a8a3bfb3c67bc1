"""The five FingER dimensions: key, human name, what a good video does, default weight."""
from __future__ import annotations

from dataclasses import dataclass

from fingereval.errors import DataError


@dataclass(frozen=True)
class Dimension:
    key: str
    name: str
    description: str
    weight: float = 1.0


DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("visual_quality", "visual quality",
              "entities are sharp and clean, with no blur, noise, artefacts or deformed parts"),
    Dimension("temporal_consistency", "temporal consistency",
              "entities keep their shape, colour, identity and position over time; no flicker or sudden change"),
    Dimension("dynamic_degree", "dynamic degree",
              "there is real motion of the right amount, not a still picture"),
    Dimension("text_alignment", "text-to-video alignment",
              "what the prompt names is present and does what the prompt says"),
    Dimension("factual_consistency", "factual consistency",
              "physics, anatomy and common sense hold"),
)
DIMENSION_KEYS: tuple[str, ...] = tuple(d.key for d in DIMENSIONS)
BY_KEY: dict[str, Dimension] = {d.key: d for d in DIMENSIONS}

# Spellings seen in the wild (paper tables, LLM replies) mapped to our keys.
_ALIASES = {
    "visual quality": "visual_quality", "vq": "visual_quality",
    "temporal consistency": "temporal_consistency", "tc": "temporal_consistency",
    "dynamic degree": "dynamic_degree", "dd": "dynamic_degree",
    "text alignment": "text_alignment", "text-to-video alignment": "text_alignment",
    "text_to_video_alignment": "text_alignment", "ta": "text_alignment", "alignment": "text_alignment",
    "factual consistency": "factual_consistency", "fc": "factual_consistency",
}


def normalize_dimension(name: str) -> str:
    """Return our key for a dimension name, or raise DataError naming the valid keys."""
    key = str(name).strip().lower()
    if key in BY_KEY:
        return key
    key = _ALIASES.get(key, _ALIASES.get(key.replace("_", " "), key))
    if key in BY_KEY:
        return key
    raise DataError(f"unknown dimension {name!r}: use one of {', '.join(DIMENSION_KEYS)}")
