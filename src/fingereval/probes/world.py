"""The probe world: plain-background videos of coloured shapes, with defects planted at random.

A probe is planned first (this module: who is in it, how each entity is drawn and moves, which
questions are asked) and rendered afterwards (render.py), so that its true answers come from the
plan and tests can check the plan against the decoded frames.

Why the plan looks the way it does:
- Every asked (question form, entity) pair gets its own fair coin, paired antithetically with a
  neighbouring probe's (see _PairedCoins), and an entity is asked at most one form per dimension,
  so each form's true answers are close to half yes and half no and no question text predicts its
  answer: a model has to look at the frames.
- Defects that would blur each other's evidence never share an entity: blur and noise are
  exclusive (noise on a blurred shape looks sharp), and so are flicker and a colour/shape change.
- Timed defects (flicker, change) start and stop on half-second boundaries, so that sampling at
  2 fps, whatever its phase, sees at least one frame of every state.
- Colours and shapes are unique within a video, so "the red ball" names exactly one thing.
- Distractors (`distractors`): unnamed shapes the prompt never mentions, drawn still and free of defects,
  so "does the red ball appear" depends on the prompt (a prompt naming a red ball over a video of a blue
  square and a green star: no), while every defect a question asks about is still the named entity's.
- Look-alike stand-ins (`disguise`): a recoloured entity or a stand-in otherwise carries no defect and
  moves as prompted or level, while a named entity carries a planted defect on most videos (each on a
  coin); a model can then answer "does the red ball appear" from the shape's defects alone, without reading
  the question (measured on the demo's model: it said yes to 70 % of other videos' entities over a video
  whose own was present, and to 9 % over one whose own was not). With `disguise`, every drawn shape that is not a shown named entity
  (distractors too: they then move) gets the look and motion defects a named one would, with fair coins,
  so only its colour and shape tell whether it is the one the prompt names.
- The hard tier (`hard_share`): in that share of probes every planted defect is drawn weak, near what can
  be seen at 112 px and 2 fps (graded_defects.py's levels 1-2), so a trained model is unsure on a fair
  share of questions; the records say which (`tier`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from fingereval.dimensions import DIMENSION_KEYS

# Saturated, well-separated colours on a dark neutral background, so that a colour stays
# recognisable after H.264 chroma subsampling, blur and noise.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (230, 40, 40),
    "green": (40, 190, 70),
    "blue": (50, 100, 240),
    "yellow": (240, 220, 40),
    "purple": (160, 70, 220),
    "cyan": (40, 210, 220),
    "white": (245, 245, 245),
}
BACKGROUND: tuple[int, int, int] = (36, 36, 44)
SHAPES: tuple[str, ...] = ("ball", "square", "triangle", "star")
VERBS: dict[str, str] = {"ball": "rolls", "square": "slides", "triangle": "glides", "star": "drifts"}
DIRECTIONS: tuple[str, ...] = ("left", "right")

# which dimension each question form asks about (the wording lives in questions.py)
FORM_DIMENSIONS: dict[str, str] = {
    "blur": "visual_quality", "noise": "visual_quality",
    "change": "temporal_consistency", "flicker": "temporal_consistency",
    "static": "dynamic_degree",
    "appear": "text_alignment", "direction": "text_alignment",
    "gravity": "factual_consistency",
}
SLOT_SECONDS = 0.5  # timed defects switch on these boundaries: one 2 fps sample per slot
ENTITY_COUNT_WEIGHTS = {1: 0.15, 2: 0.4, 3: 0.45}
MAX_ASKED_PER_DIMENSION = 2  # entity-level questions per dimension and video (keeps 5-10 per video)
# travel over the whole clip, as a share of the frame side: at least 22 px at 112, seen over 7/8
# of it by 2 fps sampling, so moving, direction and rising are plain to see; small enough that three
# moving shapes nearly always fit in the frame without touching
HORIZONTAL_TRAVEL = (0.25, 0.45)
RISE_TRAVEL = (0.2, 0.3)
FALL_TRAVEL = (0.15, 0.22)
# The hard tier's weak defects (the plain ranges are in _set_severities and above): blur and noise a
# third of theirs, one half-second of flicker or of the changed look, a rise or fall of a few pixels,
# and a short sideways travel (still seen by 2 fps sampling, but over 9-17 px).
HARD = dict(blur_sigma=(1.0, 2.0), noise_std=(12.0, 28.0), rise=(0.05, 0.09), fall=(0.05, 0.09),
            travel=(0.08, 0.15))
HARD_FORMS = frozenset({"blur", "noise", "change", "flicker", "static", "direction", "gravity"})
MAX_DISTRACTORS = 2

Presence = Literal["shown", "absent", "recoloured"]
Quality = Literal["clean", "blur", "noise"]
Change = Literal["steady", "colour", "shape", "flicker"]
Vertical = Literal["level", "falling", "rising"]


@dataclass
class ProbeEntity:
    """One entity: as the prompt names it, and as it is actually drawn."""

    colour: str  # the colour the prompt gives it
    shape: str
    prompt_direction: str  # where the prompt says it moves
    named: bool = True  # False for a distractor the prompt never mentions
    presence: Presence = "shown"
    drawn_colour: str = ""  # differs from `colour` when recoloured
    quality: Quality = "clean"
    blur_sigma: float = 0.0  # pixels at the rendered size
    noise_std: float = 0.0  # grey levels
    noise_seed: int = 0
    change: Change = "steady"
    change_slot: int = 0  # colour/shape change: the new look from this half-second slot on
    new_colour: str = ""
    new_shape: str = ""
    hidden_slots: tuple[int, ...] = ()  # flicker: half-second slots in which it is not drawn
    direction: str | None = None  # where it really moves; None when it stands still
    vertical: Vertical = "level"
    x0: float = 0.0  # centre at t = 0, pixels
    y0: float = 0.0
    dx: float = 0.0  # displacement over the whole clip, pixels
    dy: float = 0.0

    def __post_init__(self) -> None:
        self.drawn_colour = self.drawn_colour or self.colour

    @property
    def name(self) -> str:
        return f"{self.colour} {self.shape}"

    @property
    def drawn(self) -> bool:
        return self.presence != "absent"

    def centre(self, t: float | np.ndarray, seconds: float) -> tuple:
        """Centre at time t: straight-line motion over the clip."""
        frac = np.clip(np.asarray(t, dtype=float) / seconds, 0.0, 1.0)
        return self.x0 + self.dx * frac, self.y0 + self.dy * frac

    def look(self, slot: int) -> tuple[str, str] | None:
        """(colour, shape) drawn in a half-second slot, or None when it is hidden then."""
        if not self.drawn or slot in self.hidden_slots:
            return None
        if self.change == "colour" and slot >= self.change_slot:
            return self.new_colour, self.shape
        if self.change == "shape" and slot >= self.change_slot:
            return self.drawn_colour, self.new_shape
        return self.drawn_colour, self.shape


@dataclass(frozen=True)
class AskedQuestion:
    form: str  # a key of questions.FORMS
    entity: int | None  # index into ProbeSpec.entities; None for a whole-video question


@dataclass
class ProbeSpec:
    video_id: str
    index: int
    seed: int
    size: int
    seconds: float
    fps: int
    static: bool
    entities: list[ProbeEntity]
    questions: list[AskedQuestion] = field(default_factory=list)
    radius_share: float = 0.1  # entity radius as a share of the frame side
    hard: bool = False  # the hard tier: every planted defect drawn weak (HARD)

    def tier(self, form: str) -> str:
        """'hard' for a question whose evidence the hard tier weakens, else 'plain'."""
        return "hard" if self.hard and form in HARD_FORMS else "plain"

    @property
    def radius(self) -> float:
        return entity_radius(self.size, self.radius_share)

    @property
    def n_frames(self) -> int:
        return int(round(self.seconds * self.fps))

    @property
    def n_slots(self) -> int:
        return int(round(self.seconds / SLOT_SECONDS))

    @property
    def named(self) -> list[ProbeEntity]:
        return [e for e in self.entities if e.named]

    @property
    def prompt(self) -> str:
        clauses = [f"a {e.name} {VERBS[e.shape]} to the {e.prompt_direction}" for e in self.named]
        if len(clauses) == 1:
            text = clauses[0]
        elif len(clauses) == 2:
            text = f"{clauses[0]} while {clauses[1]}"
        else:
            text = ", ".join(clauses[:-1]) + " and " + clauses[-1]
        return text[0].upper() + text[1:] + " on a plain dark background."


def entity_radius(size: int, share: float = 0.1) -> float:
    return share * size


def _coin(rng: np.random.Generator) -> bool:
    return bool(rng.random() < 0.5)


def _spare(rng: np.random.Generator, options: tuple[str, ...] | list[str], taken: set[str]) -> str:
    free = [o for o in options if o not in taken]
    return str(rng.choice(free))


def plan_probe(seed: int, index: int, size: int = 112, seconds: float = 4.0, fps: int = 8,
               max_entities: int = 3, radius: float = 0.1, distractors: int = 0, hard_share: float = 0.0,
               disguise: bool = False) -> ProbeSpec:
    """Plan probe `index` of a set: entities, planted defects, motion and the questions to ask.

    Each probe draws from its own generator seeded by (seed, index), so a probe does not depend
    on how many others are made. `max_entities` (1-3) caps the named shapes per video and `radius` sets
    their size as a share of the frame side: one large shape is an easier world for small models.
    `distractors` (0-2) adds up to that many unnamed, still, defect-free shapes (0 to the cap, drawn per
    probe); `hard_share` is the share of probes in the hard tier (weak defects, HARD); `disguise` gives the
    drawn shapes that are not shown named entities (recoloured, stand-ins, distractors) a named
    entity's defects. They draw from generators of their own, so with their defaults every probe is what it
    was without them.
    The steps below share that one generator, so their order fixes every probe: keep it.
    """
    _check_plan_args(max_entities, radius, seconds, fps, distractors, hard_share)
    rng = np.random.default_rng([seed, index])
    defect = _PairedCoins(seed, index)
    entities = _cast(rng, max_entities)
    spec = ProbeSpec(video_id=f"p{index:04d}", index=index, seed=seed, size=size, seconds=seconds, fps=fps,
                     static=defect("static"), entities=entities, radius_share=radius,
                     hard=bool(np.random.default_rng([seed, index, 0x4A2D]).random() < hard_share))
    taken_colours = {e.colour for e in entities}
    appear_target = _plant_absence(rng, defect, entities, taken_colours)
    present = [i for i, e in enumerate(entities) if e.presence == "shown"]
    forms = _draw_forms(rng, present)
    questions = _choose_questions(rng, defect, spec.static, appear_target, present, forms)
    _plant_defects(rng, defect, spec, present, forms, {(q.form, q.entity) for q in questions})
    _add_stand_in(rng, spec, taken_colours, always=distractors > 0)
    _add_distractors(np.random.default_rng([seed, index, 0xD157]), spec, distractors, taken_colours)
    if disguise:
        _disguise_off_prompt(np.random.default_rng([seed, index, 0xD15C]), spec)
    _set_severities(rng, spec, taken_colours)
    _place(rng, spec)
    spec.questions = _in_dimension_order(questions)
    return spec


def _check_plan_args(max_entities: int, radius: float, seconds: float, fps: int, distractors: int = 0,
                     hard_share: float = 0.0) -> None:
    """Refuse worlds the plan cannot keep fair or visible, before any coin is drawn."""
    if not 1 <= max_entities <= max(ENTITY_COUNT_WEIGHTS):
        raise ValueError(f"max_entities must be 1 to {max(ENTITY_COUNT_WEIGHTS)}, got {max_entities}")
    # every drawn shape is unique, and a recoloured or stand-in entity needs a spare one
    if not 0 <= distractors <= min(MAX_DISTRACTORS, len(SHAPES) - 1 - max_entities):
        raise ValueError(f"distractors must be 0 to {min(MAX_DISTRACTORS, len(SHAPES) - 1 - max_entities)} with "
                         f"max_entities {max_entities} (every shape in a video is unique), got {distractors}")
    if not 0.0 <= hard_share <= 1.0:
        raise ValueError(f"hard_share must be a share, 0 to 1, got {hard_share}")
    if not 0.05 <= radius <= 0.2:
        raise ValueError(f"radius must be 0.05 to 0.2 of the frame side (moving shapes must fit), got {radius}")
    # timed defects switch on slot boundaries and need a few slots to show before and after
    if seconds < 4 * SLOT_SECONDS or abs(seconds / SLOT_SECONDS - round(seconds / SLOT_SECONDS)) > 1e-9:
        raise ValueError(f"seconds must be a multiple of {SLOT_SECONDS} and at least {4 * SLOT_SECONDS}, got {seconds}")
    if fps < 2:
        raise ValueError(f"render fps must be at least 2, got {fps}")


def _cast(rng: np.random.Generator, max_entities: int) -> list[ProbeEntity]:
    """The named entities: how many, and each one's colour, shape and prompted direction."""
    weights = {k: w for k, w in ENTITY_COUNT_WEIGHTS.items() if k <= max_entities}
    total = sum(weights.values())
    k = int(rng.choice(list(weights), p=[w / total for w in weights.values()]))
    # drawn without replacement, so "the red ball" names exactly one thing
    colours = [str(c) for c in rng.choice(list(COLOURS), size=k, replace=False)]
    shapes = [str(s) for s in rng.choice(SHAPES, size=k, replace=False)]
    return [ProbeEntity(colour=c, shape=s, prompt_direction=str(rng.choice(DIRECTIONS)))
            for c, s in zip(colours, shapes)]


def _plant_absence(rng: np.random.Generator, defect: _PairedCoins, entities: list[ProbeEntity],
                   taken_colours: set[str]) -> int:
    """Text alignment: the named entity asked about (returned); half the time it is not in the video."""
    target = int(rng.integers(len(entities)))
    if defect("appear"):
        missing = entities[target]
        if _coin(rng):
            missing.presence = "recoloured"  # its shape appears, in a colour the prompt does not name
            missing.drawn_colour = _spare(rng, list(COLOURS), taken_colours)
            taken_colours.add(missing.drawn_colour)
        else:
            missing.presence = "absent"
    return target


# the entity-level dimensions whose form is chosen per entity, and the forms each can ask
_ENTITY_FORMS: dict[str, tuple[str, ...]] = {
    "visual_quality": ("blur", "noise"),
    "temporal_consistency": ("change", "flicker"),
}


def _draw_forms(rng: np.random.Generator, present: list[int]) -> dict[str, dict[int, str]]:
    """dimension -> {present entity: form}: the one form per dimension it may be asked or planted.

    One, because a dimension's two defects blur each other's evidence (noise on a blurred shape
    looks sharp, a flicker hides a change); unasked entities get one too, so they carry defects.
    """
    return {dimension: {i: str(rng.choice(options)) for i in present}
            for dimension, options in _ENTITY_FORMS.items()}


def _choose_questions(rng: np.random.Generator, defect: _PairedCoins, static: bool, appear_target: int,
                      present: list[int], forms: dict[str, dict[int, str]]) -> list[AskedQuestion]:
    """Which (form, entity) pairs are asked; an asked entity's form becomes its pair's shared one."""
    questions = [AskedQuestion("appear", appear_target), AskedQuestion("static", None)]
    for dimension, options in _ENTITY_FORMS.items():
        for slot, i in enumerate(_pick(rng, present)):
            # the pair shares the form of its slot-th question, so each form's answers stay balanced
            forms[dimension][i] = defect.choice(dimension, slot, options)
            questions.append(AskedQuestion(forms[dimension][i], i))
    if not static:  # direction and gravity need motion to be decidable
        questions += [AskedQuestion("direction", i) for i in _pick(rng, present)]
        questions += [AskedQuestion("gravity", i) for i in _pick(rng, present)]
    return questions


def _plant_defects(rng: np.random.Generator, defect: _PairedCoins, spec: ProbeSpec, present: list[int],
                   forms: dict[str, dict[int, str]], asked: set[tuple[str, int | None]]) -> None:
    """Plant each present entity's look and motion defects; the recoloured one moves as prompted."""
    for i in present:
        e = spec.entities[i]
        planted = _coins_for(rng, defect, asked, i)
        _plant_look(rng, e, planted, forms["visual_quality"][i], forms["temporal_consistency"][i])
        if not spec.static:
            _plant_motion(rng, e, planted)
        e.noise_seed = int(rng.integers(2**31))
    for e in spec.entities:
        if e.presence == "recoloured" and not spec.static:
            e.direction = e.prompt_direction  # only its colour is wrong


def _coins_for(rng: np.random.Generator, defect: _PairedCoins, asked: set[tuple[str, int | None]],
               i: int) -> Callable[[str], bool]:
    """Entity i's coin per form: asked pairs take the balanced coins, the rest their own fair coins."""
    def planted(form: str) -> bool:
        return defect(form) if (form, i) in asked else _coin(rng)
    return planted


def _plant_look(rng: np.random.Generator, e: ProbeEntity, planted: Callable[[str], bool],
                quality_form: str, change_form: str) -> None:
    """At most one defect of the entity's quality form and one of its change form."""
    if planted(quality_form):
        e.quality = "blur" if quality_form == "blur" else "noise"
    if planted(change_form):
        # a blurred outline hides a change of shape, so blurred entities change colour instead
        kinds = ("colour",) if e.quality == "blur" else ("colour", "shape")
        e.change = "flicker" if change_form == "flicker" else str(rng.choice(kinds))  # type: ignore[assignment]


def _plant_motion(rng: np.random.Generator, e: ProbeEntity, planted: Callable[[str], bool]) -> None:
    """Where the entity really moves: against the prompt's direction, and rising, when planted."""
    e.direction = _opposite(e.prompt_direction) if planted("direction") else e.prompt_direction
    rising = planted("gravity")
    e.vertical = "rising" if rising else str(rng.choice(("level", "falling")))  # type: ignore[assignment]


def _add_distractors(rng: np.random.Generator, spec: ProbeSpec, cap: int, taken_colours: set[str]) -> None:
    """0 to `cap` unnamed shapes in colours and shapes nobody else has; still, clean and steady, so that
    every defect a question asks about stays the named entity's and only presence depends on the prompt."""
    if cap == 0:
        return
    shapes = {e.shape for e in spec.entities}
    for _ in range(int(rng.integers(0, cap + 1))):
        extra = ProbeEntity(colour=_spare(rng, list(COLOURS), taken_colours), shape=_spare(rng, SHAPES, shapes),
                            prompt_direction=str(rng.choice(DIRECTIONS)), named=False)
        spec.entities.append(extra)
        taken_colours.add(extra.colour)
        shapes.add(extra.shape)


def _disguise_off_prompt(rng: np.random.Generator, spec: ProbeSpec) -> None:
    """Recoloured entities, stand-ins and distractors get a named entity's look and motion defects, each on a
    fair coin (no question asks about them), so their look does not give away that the prompt does not name them."""
    for e in spec.entities:
        if not e.drawn or (e.named and e.presence == "shown"):
            continue
        _plant_look(rng, e, lambda form: _coin(rng), str(rng.choice(_ENTITY_FORMS["visual_quality"])),
                    str(rng.choice(_ENTITY_FORMS["temporal_consistency"])))
        if not spec.static:
            _plant_motion(rng, e, lambda form: _coin(rng))
        e.noise_seed = int(rng.integers(2**31))


def _add_stand_in(rng: np.random.Generator, spec: ProbeSpec, taken_colours: set[str], always: bool = False) -> None:
    """A one-entity prompt whose entity is absent gets an unnamed stand-in, not a blank screen; `always`
    (worlds with distractors): any absent entity does, so how many shapes are drawn never tells whether
    the named ones are."""
    if not (always and any(e.presence == "absent" for e in spec.entities)) and any(e.drawn for e in spec.entities):
        return
    shapes = {e.shape for e in spec.entities}
    stand_in = ProbeEntity(colour=_spare(rng, list(COLOURS), taken_colours), shape=_spare(rng, SHAPES, shapes),
                           prompt_direction=str(rng.choice(DIRECTIONS)), named=False)
    stand_in.direction = None if spec.static else stand_in.prompt_direction
    spec.entities.append(stand_in)
    taken_colours.add(stand_in.colour)


def _in_dimension_order(questions: list[AskedQuestion]) -> list[AskedQuestion]:
    """Questions grouped by dimension (in DIMENSION_KEYS order), then by entity; stable within ties."""
    order = {key: n for n, key in enumerate(DIMENSION_KEYS)}
    return sorted(questions, key=lambda q: (order[FORM_DIMENSIONS[q.form]], q.entity or 0))


class _PairedCoins:
    """Fair coins for the asked questions, antithetic between paired probes.

    Probe 2m and 2m+1 read the same bits, one of them flipped, so the forms asked once per video
    ("appear", "static") are exactly half yes over each pair, and the entity-level forms are
    nearly so (the pair also shares which form its k-th question of a dimension uses). The paired
    static coin leaves exactly one moving probe per pair, so the forms asked only of moving probes
    ("direction", "gravity") pair the moving probes of neighbouring pairs instead. Each probe
    still depends only on (seed, index): its partner's bits come from a shared seed, not from the
    partner's plan.
    """

    _MOTION_FORMS = ("direction", "gravity")

    def __init__(self, seed: int, index: int):
        self._bits: dict[str, np.ndarray] = {}
        self._used: dict[str, int] = {}
        self._seed, self._index = seed, index

    def __call__(self, form: str) -> bool:
        if form not in self._bits:
            if form in self._MOTION_FORMS:
                group, flip = self._index // 4, (self._index // 2) % 2
            else:
                group, flip = self._index // 2, self._index % 2
            form_id = sorted(FORM_DIMENSIONS).index(form)
            bits = np.random.default_rng([self._seed, group, form_id, 0x5EED]).random(16) < 0.5
            self._bits[form] = bits ^ bool(flip)
        slot = self._used.get(form, 0)
        self._used[form] = slot + 1
        return bool(self._bits[form][slot])

    def choice(self, dimension: str, slot: int, options: tuple[str, ...]) -> str:
        """The form of a pair's `slot`-th question in `dimension`, the same for both probes."""
        dim_id = DIMENSION_KEYS.index(dimension)
        rng = np.random.default_rng([self._seed, self._index // 2, dim_id, slot, 0xF0F0])
        return options[int(rng.integers(len(options)))]


def _opposite(direction: str) -> str:
    return "left" if direction == "right" else "right"


def _pick(rng: np.random.Generator, present: list[int]) -> list[int]:
    """Up to MAX_ASKED_PER_DIMENSION present entities, in entity order."""
    if len(present) <= MAX_ASKED_PER_DIMENSION:
        return list(present)
    return sorted(int(i) for i in rng.choice(present, size=MAX_ASKED_PER_DIMENSION, replace=False))


def _set_severities(rng: np.random.Generator, spec: ProbeSpec, taken_colours: set[str]) -> None:
    """How strong each planted defect is, so ground-truth ratings are graded, not binary."""
    scale = spec.size / 112
    free_shapes = [s for s in SHAPES if s not in {e.shape for e in spec.entities}]
    change_colours = [c for c in COLOURS if c not in taken_colours]
    # the hard tier takes the same draws from other ranges, so the rest of the plan is drawn alike
    for e in spec.entities:
        if e.quality == "blur":
            e.blur_sigma = float(rng.uniform(*(HARD["blur_sigma"] if spec.hard else (3.0, 5.0)))) * scale
        elif e.quality == "noise":
            e.noise_std = float(rng.uniform(*(HARD["noise_std"] if spec.hard else (50.0, 90.0))))
        if e.change in ("colour", "shape"):
            # at least two 2 fps samples of each look; the hard tier's new look only in the last two slots
            slot = int(rng.integers(2, spec.n_slots - 1))
            e.change_slot = spec.n_slots - 2 if spec.hard else slot
            if e.change == "colour":  # a colour no other entity ever shows
                e.new_colour = str(rng.choice(change_colours))
                change_colours.remove(e.new_colour)
            else:
                # a shape nobody else has, while one is left
                e.new_shape = str(rng.choice(free_shapes)) if free_shapes else _spare(rng, SHAPES, {e.shape})
                if e.new_shape in free_shapes:
                    free_shapes.remove(e.new_shape)
        elif e.change == "flicker":
            # hidden for 2-3 slots (never the first, so it is introduced), visible in the rest
            n_hidden = int(rng.integers(2, 4))
            slots = rng.choice(np.arange(1, spec.n_slots), size=min(n_hidden, spec.n_slots - 2), replace=False)
            e.hidden_slots = tuple(sorted(int(s) for s in slots))[:1 if spec.hard else None]  # hard: one slot


# how far a shape reaches from its centre, in radii (the star's points and the square's corners stick out)
_REACH = {"ball": 1.0, "square": 1.2, "triangle": 1.1, "star": 1.2}


def _reach(e: ProbeEntity, r: float) -> float:
    shapes = [e.shape] + ([e.new_shape] if e.change == "shape" else [])
    return max(_REACH[s] for s in shapes) * r + e.blur_sigma


def _place(rng: np.random.Generator, spec: ProbeSpec, tries: int = 400) -> None:
    """Travel distances and start points that keep every entity inside the frame and clear of the others.

    Rejection sampling (directions and rising/falling are already fixed; distances are drawn within
    their ranges) keeping the best try: touching shapes would make colour and presence ambiguous.
    """
    drawn = [e for e in spec.entities if e.drawn]
    r = spec.radius
    times = np.arange(spec.n_frames) / spec.fps
    reach = np.asarray([_reach(e, r) for e in drawn])
    needed = reach[:, None] + reach[None, :] + 2.0
    best, best_slack = None, -np.inf
    for _ in range(tries):
        moves = [_travel(rng, e, spec.size, spec.hard) for e in drawn]
        starts = []
        for e, (dx, dy) in zip(drawn, moves):
            margin = _REACH[e.shape] * r + 1
            lo_x, hi_x = margin - min(0.0, dx), spec.size - margin - max(0.0, dx)
            lo_y, hi_y = margin - min(0.0, dy), spec.size - margin - max(0.0, dy)
            starts.append((rng.uniform(lo_x, max(lo_x, hi_x)), rng.uniform(lo_y, max(lo_y, hi_y))))
        slack = _min_slack(starts, moves, needed, times, spec.seconds)
        if slack > best_slack:
            best, best_slack = (starts, moves), slack
        if slack >= 0:
            break
    for e, (x, y), (dx, dy) in zip(drawn, *best):
        e.x0, e.y0, e.dx, e.dy = float(x), float(y), float(dx), float(dy)


def _travel(rng: np.random.Generator, e: ProbeEntity, size: int, hard: bool = False) -> tuple[float, float]:
    """(dx, dy) over the clip: clearly visible at 2 fps (the hard tier: barely), within each motion's range."""
    if e.direction is None:
        return 0.0, 0.0
    sign = 1.0 if e.direction == "right" else -1.0
    dx = sign * float(rng.uniform(*(HARD["travel"] if hard else HORIZONTAL_TRAVEL))) * size
    if e.vertical == "rising":
        return dx, -float(rng.uniform(*(HARD["rise"] if hard else RISE_TRAVEL))) * size
    if e.vertical == "falling":
        return dx, float(rng.uniform(*(HARD["fall"] if hard else FALL_TRAVEL))) * size
    return dx, 0.0


def _min_slack(starts, moves, needed: np.ndarray, times: np.ndarray, seconds: float) -> float:
    """Smallest (distance - needed distance) over all pairs of entities and all frames."""
    if len(starts) < 2:
        return np.inf
    frac = np.clip(times / seconds, 0.0, 1.0)
    xs = np.stack([x + dx * frac for (x, _), (dx, _) in zip(starts, moves)])
    ys = np.stack([y + dy * frac for (_, y), (_, dy) in zip(starts, moves)])
    slack = [np.hypot(xs[i] - xs[j], ys[i] - ys[j]).min() - needed[i, j]
             for i in range(len(starts)) for j in range(i + 1, len(starts))]
    return float(min(slack))
