"""Offline, deterministic questions: entities from a rule-based chunker, filled into per-dimension templates.

Entities are the visible things of the prompt (fingereval.ask.entities says which phrases count). Every
prompt, from "windmill" to a detailed paragraph, gets questions in all five dimensions (at most 30):
per entity for visual quality, temporal consistency and factual consistency (the top `max_entities`
entities; no "does it move" questions for things that stay put), motion questions for the entities
that can move, an "appear" question for every entity the prompt asks for, and alignment questions
from what the prompt says of them: attributes ("Is the hoodie colorful?"), actions ("Are the two men
shaking hands?"), counts, relations ("Does the girl have braided hair?") and a quoted text to render.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from fingereval.errors import ConfigError, DataError
from fingereval.schema import Entity, QuestionSet

from fingereval.ask.base import QuestionGenerator, build_question_set, check_prompt
from fingereval.ask.entities import can_move, is_event, is_living, is_visible_thing
from fingereval.ask.nounphrases import Action, Analysis, NounPhrase, analyse
from fingereval.ask.words import LIVING_HEADS, NUMBERS, PART_HEADS, gerund
from fingereval.ask.replies import DraftQuestion

Template = tuple[str, str]  # (text with {Be} {Do} {the} placeholders, good answer)

VISUAL_QUALITY: list[Template] = [
    ("{Be} {the} clearly visible without blur?", "yes"),
    ("{Do} {the} show deformed, distorted or melted parts?", "no"),
    ("{Be} {the} rendered with sharp, clean detail?", "yes"),
    ("{Be} {the} free of smearing, noise or blocky artefacts?", "yes"),
]
TEMPORAL_CONSISTENCY: list[Template] = [
    ("{Do} {the} change shape or colour abruptly?", "no"),
    ("{Do} {the} keep the same appearance and identity throughout the video?", "yes"),
    ("{Do} {the} flicker, jump or suddenly disappear?", "no"),
    ("{Do} {the} keep the same colour and texture from frame to frame?", "yes"),
]
FACTUAL_CONSISTENCY_LIVING: list[Template] = [
    ("{Do} {the} move or change in a physically impossible way?", "no"),
    ("{Do} {the} have natural anatomy, with the right number of limbs and natural proportions?", "yes"),
    ("{Do} {the} pass through or merge with other objects?", "no"),
    ("{Do} {the} look and behave realistically?", "yes"),
]
FACTUAL_CONSISTENCY_THING: list[Template] = [
    ("{Do} {the} move or change in a physically impossible way?", "no"),
    ("{Do} {the} keep a realistic, physically plausible structure?", "yes"),
    ("{Do} {the} pass through or merge with other objects?", "no"),
    ("{Do} {the} behave the way real-world objects do?", "yes"),
]
# For things that stay put (a street, the sky, a mountain): asking whether they move makes no sense.
FACTUAL_CONSISTENCY_STATIC: list[Template] = [
    ("{Do} {the} bend, warp or melt in a physically impossible way?", "no"),
    ("{Do} {the} keep a realistic, physically plausible structure?", "yes"),
    ("{Do} {the} merge with or pass through other objects?", "no"),
    ("{Do} {the} look realistic and true to life?", "yes"),
]
ALIGNMENT_PRESENT: Template = ("{Do} {the} appear in the video?", "yes")
ALIGNMENT_MAIN_SUBJECT: Template = ("{Be} {the} the main subject of the video?", "yes")
MOVES: Template = ("{Do} {the} move visibly during the video?", "yes")

WHOLE_VIDEO: dict[str, list[Template]] = {
    "visual_quality": [("Are there visible artefacts, noise or distortions anywhere in the video?", "no")],
    "temporal_consistency": [("Is there flicker or a sudden jump between frames?", "no")],
    "dynamic_degree": [("Is the video nearly static?", "no"),
                       ("Is there clearly visible motion in the video?", "yes")],
    "text_alignment": [("Does the video show everything the prompt describes, with nothing important missing?",
                        "yes")],
    "factual_consistency": [("Are there obvious violations of common sense or physics in the video?", "no")],
}
MAX_QUOTED = 200  # characters of a quoted text repeated in a question

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
MAX_QUESTIONS = 30
EXTRA_PRESENT_ENTITIES = 4  # entities past max_entities that still get an "appear" question, within MAX_QUESTIONS
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
        if not rank_entities(analysis):  # a prompt with no noun at all ("flying fast"): ask about its longest word
            return build_question_set(prompt, [Entity(name=_longest_word(prompt))],
                                      _questions_without_phrases(_longest_word(prompt)), self.label)
        ranked = rank_entities(analysis)
        chosen, extra = ranked[:self.max_entities], ranked[self.max_entities:self.max_entities + EXTRA_PRESENT_ENTITIES]
        drafts = _within_limit(_questions(analysis, chosen))
        room = max(MAX_QUESTIONS - len(drafts), 0)
        drafts += [DraftQuestion(dimension="text_alignment",
                                 text=_subject(analysis, c.first).fill(ALIGNMENT_PRESENT[0]),
                                 good_answer=ALIGNMENT_PRESENT[1], entity=c.first.name) for c in extra[:room]]
        entities = [Entity(name=c.first.name) for c in chosen + extra[:room]]
        return build_question_set(prompt, entities, drafts, self.label)


def _within_limit(drafts: list[DraftQuestion]) -> list[DraftQuestion]:
    """At most MAX_QUESTIONS: past it, the last entity-level alignment questions go (attributes, counts...)."""
    drafts = list(drafts)
    while len({" ".join(d.text.lower().split()) for d in drafts}) > MAX_QUESTIONS:
        last = max(i for i, d in enumerate(drafts) if d.dimension == "text_alignment" and d.entity is not None)
        del drafts[last]
    return drafts


def rank_entities(analysis: Analysis) -> list[Candidate]:
    """Entities, most important first: things mentioned often, the first thing named, living beings;
    parts and clothing ("hands", "hoodie") after the things they belong to."""
    by_key: dict[str, Candidate] = {}
    for phrase in analysis.phrases:
        if is_visible_thing(analysis, phrase):
            by_key.setdefault(analysis.head_key(phrase), Candidate(key=analysis.head_key(phrase), mentions=[])
                              ).mentions.append(phrase)
    if not by_key:  # only camera words or feelings ("A close-up shot", "Pure joy"): better those than nothing
        for phrase in analysis.phrases:
            if not (phrase.negated or phrase.quoted):
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
    living = [is_living(analysis, c.first) for c in chosen]
    # Finite motion verbs only: in "a city filled with flying cars" the city does not fly.
    motion_subjects = {analysis.head_key(s) for a in analysis.actions if not a.passive
                       and analysis.tokens[a.verb].lemma in MOTION_VERBS
                       and not analysis.tokens[a.verb].lower.endswith(("ing", "ed")) for s in a.subject}
    moving = [any(can_move(analysis, m, motion_subjects) for m in c.mentions) for c in chosen]
    # Few entities get several templates each (so a prompt with one thing still gets four questions
    # per dimension); past four entities only alignment asks about the rest.
    per_entity = PER_ENTITY_QUESTIONS
    drafts: list[DraftQuestion] = []

    def add(dimension: str, text: str, good: str, entity: str | None) -> None:
        drafts.append(DraftQuestion(dimension=dimension, text=text, good_answer=good, entity=entity))

    def per_entity_questions(dimension: str, templates_for: list[list[Template]]) -> None:
        for n in range(per_entity):
            e = n % len(chosen)
            template, good = templates_for[e][(n // len(chosen) + e) % len(templates_for[e])]  # distinct pairs
            add(dimension, subjects[e].fill(template), good, names[e])

    per_entity_questions("visual_quality", [VISUAL_QUALITY] * len(chosen))
    _whole_video(add, "visual_quality")
    per_entity_questions("temporal_consistency", [TEMPORAL_CONSISTENCY] * len(chosen))
    _whole_video(add, "temporal_consistency")

    _whole_video(add, "dynamic_degree")
    actions = _chosen_actions(analysis, chosen)
    for mover in _movers(analysis, chosen, actions, living, moving):
        add("dynamic_degree", _subject(analysis, mover.first).fill(MOVES[0]), MOVES[1], mover.first.name)

    for subject, name in zip(subjects, names):
        add("text_alignment", subject.fill(ALIGNMENT_PRESENT[0]), ALIGNMENT_PRESENT[1], name)
    add("text_alignment", subjects[0].fill(ALIGNMENT_MAIN_SUBJECT[0]), ALIGNMENT_MAIN_SUBJECT[1], names[0])
    for text, name in _attribute_questions(analysis, chosen):
        add("text_alignment", text, "yes", name)
    for action in actions:
        event = is_event(analysis, action.subject[0])  # a question about the video, not about an entity
        add("text_alignment", _action_question(analysis, action), "yes",
            None if event else _entity_name_of(analysis, action.subject[0], chosen))

    for text, name in _count_questions(analysis, chosen) + _relation_questions(analysis, chosen):
        add("text_alignment", text, "yes", name)
    for text in _quoted_text_questions(analysis.prompt):
        add("text_alignment", text, "yes", None)
    _whole_video(add, "text_alignment")

    per_entity_questions("factual_consistency",
                         [FACTUAL_CONSISTENCY_LIVING if alive else FACTUAL_CONSISTENCY_THING if moves
                          else FACTUAL_CONSISTENCY_STATIC for alive, moves in zip(living, moving)])
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
        if not all(is_visible_thing(analysis, s) or is_event(analysis, s) for s in action.subject):
            continue  # "in his mid-30s, wearing a blouse": an age does not wear anything
        who = "+".join(analysis.head_key(s) for s in action.subject)
        what = analysis.tokens[action.verb].lemma
        if (who, what) not in seen:
            seen.add((who, what))
            unique.append(action)
    unique.sort(key=lambda a: 0 if analysis.head_key(a.subject[0]) in keys else 1)  # stable: keeps prompt order
    return unique[:MAX_ACTION_QUESTIONS]


MAX_MOVERS = 2


def _movers(analysis: Analysis, chosen: list[Candidate], actions: list[Action], living: list[bool],
            moving: list[bool]) -> list[Candidate]:
    """The entities whose motion the dynamic-degree questions ask about: movable doers of an action that is
    living or a motion verb, then the other living entities; none for a still life."""
    by_key = {c.key: c for c in chosen}
    is_living = {c.key: alive for c, alive in zip(chosen, living)}
    movable = {c.key: moves for c, moves in zip(chosen, moving)}
    out: list[Candidate] = []
    for action in actions:
        key = analysis.head_key(action.subject[0])
        if key in by_key and movable[key] and not action.passive and by_key[key] not in out and (
                is_living[key] or analysis.tokens[action.verb].lemma in MOTION_VERBS):
            out.append(by_key[key])
    out += [c for c, alive in zip(chosen, living) if alive and c not in out]
    return out[:MAX_MOVERS]


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


MAX_COUNT_QUESTIONS = 2
MAX_RELATION_QUESTIONS = 2


def _count_questions(analysis: Analysis, chosen: list[Candidate]) -> list[tuple[str, str]]:
    """"Are there six horses in the video?" where the prompt gives a small number."""
    out: list[tuple[str, str]] = []
    tokens = analysis.tokens
    for c in chosen:
        for phrase in c.mentions:
            number = next((i for i in range(phrase.first, phrase.head) if tokens[i].tag == "NUM"), None)
            if number is None or phrase.last != phrase.head or not analysis.is_plural(phrase):
                continue
            word = tokens[number].lower
            if word not in NUMBERS or word in ("hundred", "hundreds", "thousand", "thousands", "million", "millions",
                                               "dozen", "dozens", "one"):
                if not (word.isdigit() and 1 < int(word) <= 20):
                    continue
            counted = analysis.slice(number, phrase.head)
            out.append((f"Are there {counted[0].lower()}{counted[1:]} in the video?", c.first.name))  # "Two men ..."
            break
        if len(out) == MAX_COUNT_QUESTIONS:
            break
    return out


def _relation_questions(analysis: Analysis, chosen: list[Candidate]) -> list[tuple[str, str]]:
    """"Does the girl have braided hair?" for "a girl with braided hair"."""
    out: list[tuple[str, str]] = []
    tokens = analysis.tokens
    starting_at = {p.det_start: p for p in analysis.phrases}
    for c in chosen:
        for phrase in c.mentions:
            k = phrase.last + 1
            if not (is_living(analysis, phrase) and k + 1 < len(tokens) and tokens[k].lower == "with"):
                continue
            part = starting_at.get(k + 1)
            if part is None or not is_visible_thing(analysis, part) or analysis.head_key(part) not in PART_HEADS:
                continue
            subject = _subject(analysis, phrase)
            owned = analysis.slice(part.det_start, part.last)
            out.append((f"{'Do' if subject.plural else 'Does'} {subject.text} have {owned}?", c.first.name))
            break
        if len(out) == MAX_RELATION_QUESTIONS:
            break
    return out


_QUOTED = re.compile(r'"([^"]+)"|“([^”]+)”')


def _quoted_text_questions(prompt: str) -> list[str]:
    """A prompt that asks for a text to be rendered ("Generate the text "Hello" ..."): is it there, spelled right?"""
    found = _QUOTED.search(prompt)
    if found is None:
        return []
    text = (found.group(1) or found.group(2)).strip()
    if not text or len(text) > MAX_QUOTED:
        return []
    return [f'Does the text "{text}" appear in the video?', f'Is the text "{text}" spelled correctly and legible?']


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
