"""Offline, deterministic questions: entities from a rule-based chunker, filled into per-dimension templates.

Every prompt, from "windmill" to a detailed paragraph, gets questions in all five dimensions
(13 to 27 with the default four entities): per entity for visual quality, temporal consistency, text alignment and
factual consistency (the top `max_entities` entities), about the whole video for dynamic degree,
plus alignment questions for the prompt's attributes ("Is the hoodie colorful?") and actions
("Are the two men shaking hands?").
"""
from __future__ import annotations

from dataclasses import dataclass

from fingereval.errors import ConfigError, DataError
from fingereval.schema import Entity, QuestionSet

from fingereval.ask.base import QuestionGenerator, build_question_set, check_prompt
from fingereval.ask.nounphrases import Action, Analysis, NounPhrase, analyse
from fingereval.ask.words import LIVING_HEADS, NON_ENTITY_HEADS, PART_HEADS, gerund
from fingereval.ask.replies import DraftQuestion

Template = tuple[str, str]  # (text with {Be} {Do} {the} placeholders, good answer)

VISUAL_QUALITY: list[Template] = [
    ("{Be} {the} clearly visible without blur?", "yes"),
    ("{Do} {the} show deformed, distorted or melted parts?", "no"),
    ("{Be} {the} rendered with sharp, clean detail?", "yes"),
]
TEMPORAL_CONSISTENCY: list[Template] = [
    ("{Do} {the} change shape or colour abruptly?", "no"),
    ("{Do} {the} keep the same appearance and identity throughout the video?", "yes"),
    ("{Do} {the} flicker, jump or suddenly disappear?", "no"),
]
FACTUAL_CONSISTENCY_LIVING: list[Template] = [
    ("{Do} {the} move or change in a physically impossible way?", "no"),
    ("{Do} {the} have natural anatomy, with the right number of limbs and natural proportions?", "yes"),
    ("{Do} {the} pass through or merge with other objects?", "no"),
]
FACTUAL_CONSISTENCY_THING: list[Template] = [
    ("{Do} {the} move or change in a physically impossible way?", "no"),
    ("{Do} {the} keep a realistic, physically plausible structure?", "yes"),
    ("{Do} {the} pass through or merge with other objects?", "no"),
]
ALIGNMENT_PRESENT: Template = ("{Do} {the} appear in the video?", "yes")
ALIGNMENT_MAIN_SUBJECT: Template = ("{Be} {the} the main subject of the video?", "yes")
MOVES: Template = ("{Do} {the} move visibly during the video?", "yes")

WHOLE_VIDEO: dict[str, list[Template]] = {
    "visual_quality": [("Are there visible artefacts, noise or distortions anywhere in the video?", "no")],
    "temporal_consistency": [("Is there flicker or a sudden jump between frames?", "no")],
    "dynamic_degree": [("Is the video nearly static?", "no"),
                       ("Is there clearly visible motion in the video?", "yes")],
    "factual_consistency": [("Are there obvious violations of common sense or physics in the video?", "no")],
}

# Adjectives a viewer can check on the thing itself (colour, material, size, age, state): "Is the
# hoodie colorful?". Others read badly as a question ("Are the features facial?"), so we ask only these.
VISIBLE_ATTRIBUTES = frozenset(
    "red orange yellow green blue purple violet pink brown black white grey gray silver golden gold "
    "beige turquoise crimson colorful colourful multicolored multicoloured bright dark pale vibrant "
    "striped spotted checkered plaid floral transparent translucent shiny glossy metallic "
    "wooden metal steel iron leather glass stone marble plastic paper cotton woolen wool silk velvet "
    "denim concrete brick ceramic porcelain crystal icy snowy sandy grassy rocky muddy dusty rusty "
    "big large huge giant enormous massive small tiny little miniature tall short long "
    "wide narrow thick thin round square flat tiny fat slim skinny "
    "old young elderly ancient modern new vintage antique futuristic "
    "wet dry empty full clean dirty broken open closed crowded busy bustling empty quiet cozy cosy "
    "spacious cluttered tidy messy lush green leafy blooming fluffy furry hairy curly straight "
    "smooth rough soft hard fresh ripe rotten hot cold warm steaming frozen melting burning "
    "sunny cloudy rainy foggy misty stormy snowy starry calm choppy "
    "happy smiling sad angry serious casual formal elegant".split())
# Verbs whose doer must visibly move ("a car drives", "leaves fall"), living or not.
MOTION_VERBS = frozenset(
    "move run walk drive fly swim dance jump roll spin rotate turn fall flow drift float glide slide "
    "race speed rush hurry swing sway wave shake bounce climb descend ascend rise sink crash pour "
    "splash ride sail chase cross approach enter leave circle orbit travel march stroll gallop crawl "
    "hop leap dive burst explode collapse melt swirl ripple flutter blow".split())
MAX_ENTITIES = 6
PER_ENTITY_QUESTIONS = 4  # per dimension, for visual quality, temporal and factual consistency
MAX_ATTRIBUTE_QUESTIONS = 2
MAX_ACTION_QUESTIONS = 3


@dataclass
class Candidate:
    """One entity: every mention of the same head noun ("two men", "the men", "one man")."""

    key: str
    mentions: list[NounPhrase]
    score: float = 0.0

    @property
    def first(self) -> NounPhrase:
        return self.mentions[0]


class TemplateQuestionGenerator(QuestionGenerator):
    def __init__(self, max_entities: int = 4):
        if not 1 <= int(max_entities) <= MAX_ENTITIES:
            # More entities would push a set past 30 questions, and the extra ones are minor parts.
            raise ConfigError(f"max_entities must be between 1 and {MAX_ENTITIES}, got {max_entities}")
        self.max_entities = int(max_entities)

    @property
    def label(self) -> str:
        return "templates"

    def generate(self, prompt: str) -> QuestionSet:
        prompt = check_prompt(prompt)
        analysis = analyse(prompt)
        chosen = rank_entities(analysis)[:self.max_entities]
        if not chosen:  # a prompt with no noun at all ("flying fast"): ask about its longest word
            return build_question_set(prompt, [Entity(name=_longest_word(prompt))],
                                      _questions_without_phrases(_longest_word(prompt)), self.label)
        entities = [Entity(name=c.first.name) for c in chosen]
        return build_question_set(prompt, entities, _questions(analysis, chosen), self.label)


def rank_entities(analysis: Analysis) -> list[Candidate]:
    """Entities, most important first: things mentioned often, the first thing named, living beings;
    parts and clothing ("hands", "hoodie") after the things they belong to."""
    by_key: dict[str, Candidate] = {}
    for phrase in analysis.phrases:
        key = analysis.head_key(phrase)
        word = analysis.head_word(phrase)
        if key in NON_ENTITY_HEADS or word in NON_ENTITY_HEADS:
            continue
        by_key.setdefault(key, Candidate(key=key, mentions=[])).mentions.append(phrase)
    if not by_key:  # only camera words or feelings ("A close-up shot", "Pure joy"): better those than nothing
        for phrase in analysis.phrases:
            key = analysis.head_key(phrase)
            by_key.setdefault(key, Candidate(key=key, mentions=[])).mentions.append(phrase)
    candidates = list(by_key.values())
    for rank, c in enumerate(candidates):
        word = analysis.head_word(c.first)
        c.score = (2 * len(c.mentions) + (3 if rank == 0 else 0)
                   + (1 if word in LIVING_HEADS or c.key in LIVING_HEADS else 0)
                   + (1 if any(m.role == "subject" for m in c.mentions) else 0)
                   - (2 if word in PART_HEADS or c.key in PART_HEADS else 0))
    order = {c.key: i for i, c in enumerate(candidates)}
    return sorted(candidates, key=lambda c: (-c.score, order[c.key]))


# ---------------------------------------------------------------- filling templates


@dataclass
class Subject:
    """How a question refers to an entity: "the two men" + plural, for "Are the two men ...?"."""

    text: str
    plural: bool

    def fill(self, template: str) -> str:
        return template.format(Be="Are" if self.plural else "Is", Do="Do" if self.plural else "Does",
                               the=self.text)


def _subject(analysis: Analysis, phrase: NounPhrase) -> Subject:
    name = phrase.name
    tokens = analysis.tokens[phrase.first:phrase.last + 1]
    if name.lower().startswith("one ") and len(tokens) > 1:
        name = name[4:]  # "one man" -> "the man"
    # A bare proper name ("Gwen Stacy", "Mars") takes no article; "the Eiffel Tower" keeps its own.
    proper = all(t.tag == "PROPN" for t in tokens) and phrase.det_start == phrase.first
    text = name if proper else f"the {name}"
    return Subject(text=text, plural=analysis.is_plural(phrase))


def _questions(analysis: Analysis, chosen: list[Candidate]) -> list[DraftQuestion]:
    subjects = [_subject(analysis, c.first) for c in chosen]
    names = [c.first.name for c in chosen]
    living = [analysis.head_word(c.first) in LIVING_HEADS or c.key in LIVING_HEADS for c in chosen]
    # One entity gets two different templates; past four entities only alignment asks about the rest.
    per_entity = min(max(len(chosen), 2), PER_ENTITY_QUESTIONS)
    drafts: list[DraftQuestion] = []

    def add(dimension: str, text: str, good: str, entity: str | None) -> None:
        drafts.append(DraftQuestion(dimension=dimension, text=text, good_answer=good, entity=entity))

    def per_entity_questions(dimension: str, templates_for: list[list[Template]]) -> None:
        for n in range(per_entity):
            e = n % len(chosen)
            template, good = templates_for[e][n % len(templates_for[e])]
            add(dimension, subjects[e].fill(template), good, names[e])

    per_entity_questions("visual_quality", [VISUAL_QUALITY] * len(chosen))
    _whole_video(add, "visual_quality")
    per_entity_questions("temporal_consistency", [TEMPORAL_CONSISTENCY] * len(chosen))
    _whole_video(add, "temporal_consistency")

    _whole_video(add, "dynamic_degree")
    actions = _chosen_actions(analysis, chosen)
    mover = _mover(analysis, chosen, actions, living)
    if mover is not None:
        add("dynamic_degree", _subject(analysis, mover.first).fill(MOVES[0]), MOVES[1], mover.first.name)

    for subject, name in zip(subjects, names):
        add("text_alignment", subject.fill(ALIGNMENT_PRESENT[0]), ALIGNMENT_PRESENT[1], name)
    if len(chosen) == 1:
        add("text_alignment", subjects[0].fill(ALIGNMENT_MAIN_SUBJECT[0]), ALIGNMENT_MAIN_SUBJECT[1], names[0])
    for text, name in _attribute_questions(analysis, chosen):
        add("text_alignment", text, "yes", name)
    for action in actions:
        add("text_alignment", _action_question(analysis, action), "yes",
            _entity_name_of(analysis, action.subject[0], chosen))

    per_entity_questions("factual_consistency",
                         [FACTUAL_CONSISTENCY_LIVING if is_living else FACTUAL_CONSISTENCY_THING
                          for is_living in living])
    _whole_video(add, "factual_consistency")
    return drafts


def _whole_video(add, dimension: str) -> None:
    for text, good in WHOLE_VIDEO[dimension]:
        add(dimension, text, good, None)


def _entity_name_of(analysis: Analysis, phrase: NounPhrase, chosen: list[Candidate]) -> str:
    key = analysis.head_key(phrase)
    for c in chosen:
        if c.key == key:
            return c.first.name
    return phrase.name


def _chosen_actions(analysis: Analysis, chosen: list[Candidate]) -> list[Action]:
    """Up to three actions, those of the chosen entities first, each (who, verb) once."""
    keys = {c.key for c in chosen}
    seen: set[tuple[str, str]] = set()
    unique: list[Action] = []
    for action in analysis.actions:
        who = "+".join(analysis.head_key(s) for s in action.subject)
        what = analysis.tokens[action.verb].lemma
        if (who, what) not in seen:
            seen.add((who, what))
            unique.append(action)
    unique.sort(key=lambda a: 0 if analysis.head_key(a.subject[0]) in keys else 1)  # stable: keeps prompt order
    return unique[:MAX_ACTION_QUESTIONS]


def _mover(analysis: Analysis, chosen: list[Candidate], actions: list[Action], living: list[bool]) -> Candidate | None:
    """The entity whose motion the dynamic-degree question asks about: a living doer of an action or the
    doer of a motion verb, else the first living entity; None for a still life."""
    by_key = {c.key: c for c in chosen}
    is_living = {c.key: alive for c, alive in zip(chosen, living)}
    for action in actions:
        key = analysis.head_key(action.subject[0])
        if key in by_key and not action.passive and (
                is_living[key] or analysis.tokens[action.verb].lemma in MOTION_VERBS):
            return by_key[key]
    for c, alive in zip(chosen, living):
        if alive:
            return c
    return None


def _action_question(analysis: Analysis, action: Action) -> str:
    subjects = [_subject(analysis, s) for s in action.subject]
    plural = len(subjects) > 1 or subjects[0].plural
    who = " and ".join(s.text for s in subjects)
    verb = analysis.tokens[action.verb]
    doing = verb.text.lower() if action.passive else gerund(verb.text, verb.lemma)
    words = " ".join(x for x in (who, doing, action.rest) if x)
    return f"{'Are' if plural else 'Is'} {words}?"


def _attribute_questions(analysis: Analysis, chosen: list[Candidate]) -> list[tuple[str, str]]:
    """"Is the hoodie colorful?" for the describing adjectives of the chosen entities."""
    out: list[tuple[str, str]] = []
    for c in chosen:
        for phrase in c.mentions:
            if phrase.last != phrase.head:
                continue  # "a cup of hot coffee": the adjective is not the cup's
            tokens = analysis.tokens
            adjectives = [i for i in range(phrase.first, phrase.head)
                          if tokens[i].tag == "ADJ" and tokens[i].lower in VISIBLE_ATTRIBUTES]
            if not adjectives or tokens[adjectives[-1] + 1].tag not in ("NOUN", "PROPN"):
                continue
            thing = analysis.slice(adjectives[-1] + 1, phrase.head)
            described = " and ".join(tokens[i].text for i in adjectives)
            plural = analysis.is_plural(phrase)
            out.append((f"{'Are' if plural else 'Is'} the {thing} {described}?", c.first.name))
            break
        if len(out) == MAX_ATTRIBUTE_QUESTIONS:
            break
    return out


def _longest_word(prompt: str) -> str:
    words = [w.strip(".,;:!?\"'()") for w in prompt.split()]
    word = max(words, key=len)
    if not any(ch.isalnum() for ch in word):
        raise DataError(f"the prompt {prompt!r} has no words to ask about")
    return word


def _questions_without_phrases(word: str) -> list[DraftQuestion]:
    """Fallback when the chunker finds no noun: the same templates about the prompt's main word."""
    subject = Subject(text=f"the {word}", plural=False)
    drafts = []
    for dimension, templates in (("visual_quality", VISUAL_QUALITY[:2]),
                                 ("temporal_consistency", TEMPORAL_CONSISTENCY[:2]),
                                 ("text_alignment", [ALIGNMENT_PRESENT, ALIGNMENT_MAIN_SUBJECT]),
                                 ("factual_consistency", FACTUAL_CONSISTENCY_THING[:2])):
        for text, good in templates:
            drafts.append(DraftQuestion(dimension=dimension, text=subject.fill(text), good_answer=good, entity=word))
    for dimension, templates in WHOLE_VIDEO.items():
        for text, good in templates:
            drafts.append(DraftQuestion(dimension=dimension, text=text, good_answer=good, entity=None))
    return drafts
