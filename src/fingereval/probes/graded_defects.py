"""Probe videos whose planted defect comes at graded severity, one family per dimension (the paper's
suggested stress test): a defect's magnitude or duration grows level by level, all else held still.

- visual quality: blur of the shape, sigma growing;
- temporal consistency: the shape vanishes for more and more half-second slots (duration);
- dynamic degree: the shape travels less and less, down to not at all;
- text alignment: more and more of what the prompt says is broken: the named shape moves against the prompt's
  direction, then is not there at all (a shape of another colour and kind in its place);
- factual consistency: the shape floats upward, ever further.
Level 0 is the clean video, the baseline every level is compared with.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fingereval.io import write_jsonl
from fingereval.probes.questions import qa_records
from fingereval.probes.render import pick_codec, render_frames, write_mp4
from fingereval.probes.world import COLOURS, SHAPES, AskedQuestion, ProbeEntity, ProbeSpec

QA_FILE, SEVERITY_FILE = "qa.jsonl", "severity.jsonl"


@dataclass(frozen=True)
class Family:
    dimension: str
    form: str  # the question form that asks about the defect
    unit: str
    magnitudes: tuple[float, ...]  # level 0 (clean) first


FAMILIES: dict[str, Family] = {f.dimension: f for f in (
    Family("visual_quality", "blur", "blur sigma (px at 112)", (0.0, 1.0, 2.0, 3.0, 4.5)),
    Family("temporal_consistency", "flicker", "half-second slots hidden", (0, 1, 2, 3, 4)),
    Family("dynamic_degree", "static", "motion lost (share of 0.4 frame widths)", (0.0, 0.5, 0.75, 0.9, 1.0)),
    Family("text_alignment", "appear", "prompt claims broken (of 2: direction, presence)", (0, 1, 2)),
    Family("factual_consistency", "gravity", "upward travel (share of the frame)", (0.0, 0.05, 0.1, 0.18, 0.28)),
)}
TRAVEL = 0.4  # horizontal travel of a moving shape over the clip, as a share of the frame side


def _entity(rng: np.random.Generator, taken: set[str], x0: float, y0: float, dx: float = 0.0, dy: float = 0.0
            ) -> ProbeEntity:
    colour = str(rng.choice([c for c in COLOURS if c not in taken]))
    taken.add(colour)
    shape = str(rng.choice(SHAPES))
    direction = None if dx == 0 else ("right" if dx > 0 else "left")
    return ProbeEntity(colour=colour, shape=shape, prompt_direction=direction or "right", direction=direction,
                       x0=x0, y0=y0, dx=dx, dy=dy)


def severity_spec(family: Family, level: int, index: int, size: int = 112, seconds: float = 4.0, fps: int = 8,
                  seed: int = 0) -> ProbeSpec:
    """One probe of `family` at `level`; the same (seed, index) draws the same shapes at every level."""
    rng = np.random.default_rng([seed, index, list(FAMILIES.values()).index(family)])
    magnitude = family.magnitudes[level]
    mid, taken = size / 2, set()
    spec = ProbeSpec(video_id="", index=index, seed=seed, size=size, seconds=seconds, fps=fps, static=False,
                     entities=[], radius_share=0.2)  # one large shape: the demo's probe world
    if family.form == "appear":
        return _alignment_spec(spec, rng, int(magnitude), mid, size)
    travel = TRAVEL * size * (1 - magnitude if family.form == "static" else 1)
    e = _entity(rng, taken, mid - travel / 2, mid + (magnitude * size / 2 if family.form == "gravity" else 0), travel)
    if family.form == "blur" and magnitude > 0:
        e.quality, e.blur_sigma = "blur", magnitude * size / 112
    elif family.form == "flicker" and magnitude > 0:
        e.change, e.hidden_slots = "flicker", tuple(range(2, 2 + int(magnitude)))
    elif family.form == "gravity" and magnitude > 0:
        e.vertical, e.dy = "rising", -magnitude * size
    spec.static = travel == 0
    spec.entities = [e]
    spec.questions = [AskedQuestion(family.form, None if family.form == "static" else 0)]
    return spec


def _alignment_spec(spec: ProbeSpec, rng: np.random.Generator, broken: int, mid: float, size: int) -> ProbeSpec:
    """Text alignment in the one-shape world: `broken` of the prompt's two claims fail. 0: the named shape moves
    as prompted (asked: appear, direction); 1: it moves the other way (same questions); 2: it is absent and an
    unnamed shape of another colour and kind moves in its place (asked: appear; the world never asks the
    direction of an absent shape). Three named shapes in a row, the earlier family, were a scene the demo's
    one-shape model never saw (docs/stability.md, "Severity")."""
    travel = TRAVEL * size * float(rng.choice((-1.0, 1.0)))  # to the left or the right
    e = _entity(rng, set(), mid - travel / 2, mid, travel)
    if broken == 1:
        e.prompt_direction = "left" if e.direction == "right" else "right"
    spec.entities, spec.questions = [e], [AskedQuestion("appear", 0)]
    if broken < 2:
        spec.questions.append(AskedQuestion("direction", 0))
        return spec
    e.presence = "absent"
    stand_in = _entity(rng, {e.colour}, mid - travel / 2, mid, travel)
    while stand_in.shape == e.shape:  # another kind too, so neither colour nor shape can pass for the named one
        stand_in = _entity(rng, {e.colour}, mid - travel / 2, mid, travel)
    stand_in.named = False
    spec.entities.append(stand_in)
    return spec


def make_severity_probes(out_dir: str | Path, per_level: int = 8, size: int = 112, seed: int = 0,
                         dimensions: tuple[str, ...] | None = None) -> tuple[Path, Path]:
    """Render every family at every level, `per_level` videos each; returns (qa.jsonl, severity.jsonl)."""
    root = Path(out_dir)
    codec = pick_codec()
    qa, levels = [], []
    for family in (FAMILIES[d] for d in (dimensions or tuple(FAMILIES))):
        for level, magnitude in enumerate(family.magnitudes):
            for index in range(per_level):
                spec = severity_spec(family, level, index, size=size, seed=seed)
                spec.video_id = f"{family.form}-L{level}-{index:02d}"
                relative = f"videos/{spec.video_id}.mp4"
                write_mp4(root / relative, render_frames(spec), fps=spec.fps, codec=codec)
                qa += qa_records(spec, relative)
                levels.append({"video": relative, "dimension": family.dimension, "form": family.form,
                               "level": level, "magnitude": magnitude, "unit": family.unit})
    return write_jsonl(root / QA_FILE, qa), write_jsonl(root / SEVERITY_FILE, levels)
