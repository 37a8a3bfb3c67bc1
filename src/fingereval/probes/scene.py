"""Scene labels of a planned probe: what is in the video, per video, as a fixed list of names.

They describe the drawn scene (colours, shapes, blur, noise, changes, motion), not the questions, and
they are what a pretrained vision encoder would have learned to see. `train vision` uses them to
pretrain the tiny model's vision tower (see fingereval.tiny.vision), and, written out as a caption
in the words the probe reasons' findings use, to align its language model to that tower (see
fingereval.tiny.align); questions never reach either.
"""
from __future__ import annotations

from fingereval.probes.questions import FINDINGS
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


def scene_caption(labels: list[str] | set[str]) -> str:
    """What a video shows, finding by finding, in the probe reasons' words ("Colour red. Edges blurred. ...").

    Every finding a reason can open with is stated, in a fixed order, so each video's caption says all
    that its questions could ask about (colour, shape, sharpness, texture, changes, flicker, motion).
    """
    on = set(labels)

    def said(form: str, seen: bool) -> str:
        word, yes_seen, no_seen = FINDINGS[form]
        return f"{word} {yes_seen if seen else no_seen}"

    colours = [c for c in COLOURS if f"colour:{c}" in on]
    shapes = [s for s in SHAPES if f"shape:{s}" in on]
    heading = [d for d in ("left", "right") if f"moves_{d}" in on]
    height = "rises" if "rises" in on else "sinks" if "falls" in on else "steady"
    parts = [
        f"{FINDINGS['appear'][0]} {' '.join(colours) or 'none'}",
        f"Shape {' '.join(shapes) or 'none'}",
        said("blur", seen="blur" not in on),
        said("noise", seen="noise" in on),
        said("change", seen=bool(on & {"colour_change", "shape_change"})),
        said("flicker", seen="flicker" in on),
        said("static", seen="static" in on),
        f"{FINDINGS['gravity'][0]} {height}",
        f"{FINDINGS['direction'][0]} {' '.join(heading) or 'none'}",
    ]
    return ". ".join(parts) + "."
