"""Scene labels of a planned probe: what is in the video, per video, as a fixed list of names.

They describe the drawn scene (colours, shapes, blur, noise, changes, motion), not the questions, and
they are what a pretrained vision encoder would have learned to see. `train vision` uses them to
pretrain the tiny model's vision tower (see fingereval.train.vision); questions never reach it.
"""
from __future__ import annotations

from fingereval.probes.world import COLOURS, SHAPES, ProbeSpec

EVENTS = ("blur", "noise", "colour_change", "shape_change", "flicker", "moves_left", "moves_right", "rises", "falls",
          "static")
SCENE_LABELS: tuple[str, ...] = (*(f"colour:{c}" for c in COLOURS), *(f"shape:{s}" for s in SHAPES), *EVENTS)


def scene_labels(spec: ProbeSpec) -> list[str]:
    """The labels true of the drawn video, in SCENE_LABELS order (a label is true if any drawn shape has it)."""
    on: set[str] = {"static"} if spec.static else set()
    for e in spec.entities:
        if not e.drawn:
            continue
        on |= {f"colour:{e.drawn_colour}", f"shape:{e.shape}"}
        if e.quality != "clean":
            on.add(e.quality)
        if e.change in ("colour", "shape"):
            on.add(f"{e.change}_change")
        elif e.change == "flicker":
            on.add("flicker")
        if e.direction is not None:
            on.add(f"moves_{e.direction}")
        if e.vertical != "level":
            on.add({"rising": "rises", "falling": "falls"}[e.vertical])
    return [label for label in SCENE_LABELS if label in on]
