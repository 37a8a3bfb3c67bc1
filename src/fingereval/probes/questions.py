"""Questions, true answers, reasons and ground-truth ratings of a planned probe.

A small fixed set of question forms, phrased like FingER's entity-level questions, so a tiny
model can learn them; every true answer and reason is read off the plan, never guessed.
"""
from __future__ import annotations

from dataclasses import dataclass

from fingereval.dimensions import DIMENSION_KEYS
from fingereval.probes.world import (
    COLOURS,
    FORM_DIMENSIONS,
    HORIZONTAL_TRAVEL,
    RISE_TRAVEL,
    SLOT_SECONDS,
    AskedQuestion,
    ProbeEntity,
    ProbeSpec,
)


@dataclass(frozen=True)
class QuestionForm:
    key: str
    dimension: str
    template: str  # {entity} and {direction} are filled in
    good_answer: str


FORMS: dict[str, QuestionForm] = {f.key: f for f in (
    QuestionForm("blur", "visual_quality", "Is the {entity} clearly visible without blur?", "yes"),
    QuestionForm("noise", "visual_quality", "Is there visible noise on the {entity}?", "no"),
    QuestionForm("change", "temporal_consistency", "Does the {entity} change its colour or shape during the video?", "no"),
    QuestionForm("flicker", "temporal_consistency", "Does the {entity} flicker or vanish during the video?", "no"),
    QuestionForm("static", "dynamic_degree", "Is the video nearly static?", "no"),
    QuestionForm("appear", "text_alignment", "Does the {entity} appear in the video?", "yes"),
    QuestionForm("direction", "text_alignment", "Does the {entity} move to the {direction}?", "yes"),
    QuestionForm("gravity", "factual_consistency", "Does the {entity} float upward against gravity?", "no"),
)}
assert {k: f.dimension for k, f in FORMS.items()} == FORM_DIMENSIONS


@dataclass(frozen=True)
class TrueAnswer:
    question: str
    answer: str  # "yes" | "no", true to what was planted
    reason: str


def _seconds(slot: int) -> str:
    return f"{slot * SLOT_SECONDS:.1f} seconds"


def _list(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _truth(spec: ProbeSpec, form: str, e: ProbeEntity | None) -> tuple[bool, str]:
    """(is the literal answer yes, the reason) for one asked question."""
    if form == "static":
        movers = [f"the {x.name}" if x.named else f"a {x.drawn_colour} {x.shape}" for x in spec.entities
                  if x.drawn and x.direction is not None]  # distractors stand still
        if spec.static:
            return True, "Nothing moves: every shape stays in the same place from the first frame to the last."
        verb = "moves" if len(movers) == 1 else "move"
        return False, f"The video is not static: {_list(movers)} clearly {verb} across the frame."
    assert e is not None
    the = f"The {e.name}"
    if form == "appear":
        if e.presence == "shown":
            return True, f"A {e.name} is visible in the video."
        if e.presence == "recoloured":
            # both "no" sentences open with "There": a greedy decoder that split its "no" between two openings
            # would pick the single "yes" opening ("A") whenever it was less than two-thirds sure of "no"
            return False, f"There is no {e.name}: the {e.shape} in the video is {e.drawn_colour}, not {e.colour}."
        return False, f"There is no {e.name} anywhere in the video."
    if form == "blur":
        if e.quality == "blur":
            return False, f"{the} is heavily blurred: its outline is soft and smeared in every frame."
        return True, f"{the} stays sharp and clearly outlined in every frame."
    if form == "noise":
        if e.quality == "noise":
            return True, f"{the} is covered in grainy, speckled noise."
        return False, f"{the} is clean and evenly coloured, with no noise on it."
    if form == "change":
        if e.change == "colour":
            return True, f"{the} turns {e.new_colour} at about {_seconds(e.change_slot)}."
        if e.change == "shape":
            return True, f"{the} turns into a {e.new_shape} at about {_seconds(e.change_slot)}."
        return False, f"{the} keeps the same colour and shape from start to end."
    if form == "flicker":
        if e.change == "flicker":
            times = _list([_seconds(s) for s in e.hidden_slots])
            return True, f"{the} disappears and reappears: it is missing at about {times}."
        return False, f"{the} stays visible in every frame."
    if form == "direction":
        if e.direction == e.prompt_direction:
            return True, f"{the} moves steadily to the {e.direction} across the frame."
        return False, f"{the} moves to the {e.direction}, not to the {e.prompt_direction}."
    if form == "gravity":
        if e.vertical == "rising":
            return True, f"{the} rises steadily upward with nothing lifting it."
        if e.vertical == "falling":
            return False, f"{the} sinks downward as it moves, as gravity would pull it."
        return False, f"{the} stays level as it moves; it never floats upward."
    raise ValueError(f"unknown question form {form!r}")


# Each reason opens with a short finding, "<what was looked at> <what was seen>.", then the sentence.
# The finding is the step-by-step part: its first word follows from the question alone, and the word
# after it is read off the video, so a model that writes the finding first decides while looking at a
# word that says what to look for (a from-scratch tiny model learns this; with the decision hidden
# mid-sentence it stays at chance). Per form: the word, then what is seen for a literal yes / no.
FINDINGS: dict[str, tuple[str, str, str]] = {
    "blur": ("Edges", "sharp", "blurred"),
    "noise": ("Texture", "noisy", "clean"),
    "change": ("Look", "changes", "steady"),
    "flicker": ("Visibility", "flickers", "steady"),
    "static": ("Scene", "still", "moves"),
    "gravity": ("Height", "rises", "steady"),  # "sinks" when it falls
    "direction": ("Heading", "", ""),  # the direction it really moves
    "appear": ("Colour", "", ""),  # the asked colour "vs" the colours drawn (see `finding`)
}


def finding(spec: ProbeSpec, form: str, e: ProbeEntity | None, is_yes: bool) -> str:
    word, yes_seen, no_seen = FINDINGS[form]
    if form == "direction":
        return f"{word} {e.direction}"
    if form == "appear":
        # "Colour red vs green": the asked colour copied from the question beside the colours really drawn, so
        # the answer is a comparison of two nearby words. An earlier "Colour none" for an absent shape let the
        # tiny model answer from "none" alone (a shape judgement it sees poorly) and never learn the comparison.
        drawn = {x.drawn_colour for x in spec.entities if x.drawn}
        return f"{word} {e.colour} vs {' '.join(c for c in COLOURS if c in drawn)}"
    if form == "gravity" and e.vertical == "falling":
        return f"{word} sinks"
    return f"{word} {yes_seen if is_yes else no_seen}"


def finding_of(reason: str | None) -> str:
    """The finding a reason opens with: the text before its first full stop ("" for no reason)."""
    return (reason or "").strip().split(".")[0].strip()


# the words a finding opens with: a scene caption (probes.scene.scene_caption) has a sentence for each, a reason one
CAPTION_HEADS = frozenset({word for word, _, _ in FINDINGS.values()} | {"Shape"})


def findings_stated(text: str | None) -> int:
    """How many different findings a text states, one a sentence ("Edges blurred. Texture clean." -> 2).

    A probe reason states one finding, then explains it; a caption states every finding of the scene (9), so a
    reason stating three or more describes the video rather than answering its question (caption-like).
    """
    heads = {sentence.strip().split(" ")[0] for sentence in (text or "").split(".")}
    return len(heads & CAPTION_HEADS)


def finding_answer(form: str, question: str, finding_text: str) -> str | None:
    """The yes/no that a finding implies for a question of `form`, read from the two texts alone;
    None when the finding is not one of that form's (a caption, another form's, noise).

    It lets a model's reason be checked against its own answer (a contradiction: "Colour white vs
    white" and the answer no) without the plan; against the plan, a finding is right when it equals
    the true reason's (`finding_of(record["reason"])`).
    """
    word, yes_seen, no_seen = FINDINGS[form]
    head, _, seen = finding_text.partition(" ")
    if head != word or not seen:
        return None
    if form == "appear":  # "Colour red vs green blue": yes when the asked colour is among those drawn
        asked, vs, drawn = seen.partition(" vs ")
        if not vs or asked not in COLOURS or asked not in question:
            return None
        return "yes" if asked in drawn.split() else "no"
    if form == "direction":
        if seen not in ("left", "right"):
            return None
        return "yes" if question.rstrip("?").endswith(f"to the {seen}") else "no"
    if form == "gravity" and seen == "sinks":
        return "no"
    return {yes_seen: "yes", no_seen: "no"}.get(seen)


def true_answer(spec: ProbeSpec, asked: AskedQuestion) -> TrueAnswer:
    form = FORMS[asked.form]
    e = spec.entities[asked.entity] if asked.entity is not None else None
    question = form.template.format(entity=e.name if e else "", direction=e.prompt_direction if e else "")
    is_yes, sentence = _truth(spec, asked.form, e)
    reason = f"{finding(spec, asked.form, e, is_yes)}. {sentence}"
    return TrueAnswer(question=question, answer="yes" if is_yes else "no", reason=reason)


def qa_records(spec: ProbeSpec, video: str) -> list[dict]:
    """The FingER-Instruct records of one probe; `video` is its path relative to the qa file."""
    records = []
    for j, asked in enumerate(spec.questions):
        form = FORMS[asked.form]
        truth = true_answer(spec, asked)
        records.append({
            "id": f"{spec.video_id}-q{j}",
            "video_id": spec.video_id,
            "video": video,
            "prompt": spec.prompt,
            "dimension": form.dimension,
            "entity": spec.entities[asked.entity].name if asked.entity is not None else None,
            "question": truth.question,
            "good_answer": form.good_answer,
            "answer": truth.answer,
            "reason": truth.reason,
            "form": form.key,
            "tier": spec.tier(form.key),
        })
    return records


# --- ground-truth ratings -------------------------------------------------------------------
# Penalties per entity in [0, 1], growing with severity; a dimension's quality is one minus the
# mean penalty over the entities it concerns, so one bad entity among three costs less than one
# bad entity alone.

def _unit(value: float, lo: float, hi: float) -> float:
    return min(max((value - lo) / (hi - lo), 0.0), 1.0)


def _quality(penalties: list[float]) -> float:
    return 1.0 - sum(min(p, 1.0) for p in penalties) / len(penalties) if penalties else 1.0


def ratings(spec: ProbeSpec) -> dict[str, float]:
    scale = spec.size / 112
    shown = [e for e in spec.entities if e.named and e.presence == "shown"]
    vq, tc, ta, fc = [], [], [], []
    for e in shown:
        if e.quality == "blur":
            vq.append(0.4 + 0.4 * _unit(e.blur_sigma / scale, 3.0, 5.0))
        elif e.quality == "noise":
            vq.append(0.4 + 0.4 * _unit(e.noise_std, 50.0, 90.0))
        else:
            vq.append(0.0)
        if e.change in ("colour", "shape"):  # the earlier it changes, the more of the clip is wrong
            tc.append(0.4 + 0.4 * (1 - e.change_slot / spec.n_slots))
        elif e.change == "flicker":
            tc.append(0.25 * len(e.hidden_slots))
        else:
            tc.append(0.0)
        fc.append(0.5 + 0.4 * _unit(-e.dy / spec.size, *RISE_TRAVEL) if e.vertical == "rising" else 0.0)
    for e in spec.named:
        if e.presence == "absent":
            ta.append(1.0)
        elif e.presence == "recoloured":
            ta.append(0.75)
        elif e.direction is not None and e.direction != e.prompt_direction:
            ta.append(0.5)
        else:
            ta.append(0.0)
    if spec.static:
        dynamic = 0.0
    else:
        speeds = [abs(e.dx) / spec.size for e in spec.entities if e.drawn and e.direction is not None]
        dynamic = 0.6 + 0.4 * _unit(sum(speeds) / len(speeds), *HORIZONTAL_TRAVEL)
    out = {
        "visual_quality": _quality(vq),
        "temporal_consistency": _quality(tc),
        "dynamic_degree": dynamic,
        "text_alignment": _quality(ta),
        "factual_consistency": _quality(fc),
    }
    assert tuple(out) == DIMENSION_KEYS
    out = {k: round(v, 4) for k, v in out.items()}
    out["overall"] = round(sum(out.values()) / len(out), 4)
    return out


def defect_notes(spec: ProbeSpec) -> list[str]:
    """Short notes of everything planted, for people reading ratings.jsonl."""
    notes = ["static: nothing moves"] if spec.static else []
    for e in spec.entities:
        who = e.name if e.named else f"unnamed {e.drawn_colour} {e.shape}"
        if e.presence == "absent":
            notes.append(f"{who}: absent")
            continue
        if e.presence == "recoloured":
            notes.append(f"{who}: drawn {e.drawn_colour}")
        if e.quality == "blur":
            notes.append(f"{who}: blur sigma {e.blur_sigma:.1f}px")
        if e.quality == "noise":
            notes.append(f"{who}: noise std {e.noise_std:.0f}")
        if e.change == "colour":
            notes.append(f"{who}: turns {e.new_colour} at {e.change_slot * SLOT_SECONDS:.1f}s")
        if e.change == "shape":
            notes.append(f"{who}: turns into a {e.new_shape} at {e.change_slot * SLOT_SECONDS:.1f}s")
        if e.change == "flicker":
            notes.append(f"{who}: hidden at " + ", ".join(f"{s * SLOT_SECONDS:.1f}s" for s in e.hidden_slots))
        if e.named and e.direction is not None and e.direction != e.prompt_direction:
            notes.append(f"{who}: moves {e.direction}, prompt says {e.prompt_direction}")
        if e.vertical == "rising":
            notes.append(f"{who}: floats upward")
    return notes
