"""Offline, deterministic questions: entities from a rule-based chunker, filled into the rubric's templates.

Entities are the visible things of the prompt (fingereval.ask.entities says which phrases count). The
templates are the rubric's (fingereval.rubric; FingER's five dimensions by default, rubrics/finger.yaml):
per dimension, entity templates by kind (living, thing, static, any) spread over the top `max_entities`
entities, "mover" templates for the entities that move, and whole-video questions. The questions read off
the prompt's own words are code, here, and go to the rubric's `prompt_questions` dimension: an "appear"
question for every entity the prompt asks for, the main subject, attributes ("Is the hoodie colorful?"),
actions ("Are the two men shaking hands?"), counts, relations ("Does the girl have braided hair?") and a
quoted text to render. Every prompt, from "windmill" to a detailed paragraph, gets questions in every
dimension that has templates (at most 30 with FingER's rubric).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from fingereval.errors import ConfigError, DataError
from fingereval.rubric import Dimension, Rubric, load_rubric
from fingereval.schema import Entity, QuestionSet

from fingereval.ask.base import QuestionGenerator, build_question_set, check_prompt
from fingereval.ask.entities import can_move, is_event, is_living, is_visible_thing, pronoun_like
from fingereval.ask.language import check_readable
from fingereval.ask.nounphrases import Action, Analysis, NounPhrase, analyse
from fingereval.ask.words import LIVING_HEADS, NUMBERS, PART_HEADS, gerund
from fingereval.ask.replies import DraftQuestion

Template = tuple[str, str]  # (text with {Be} {Do} {the} placeholders, good answer)

# The prompt's own questions (fingereval.rubric.PromptQuestions says which dimension gets them).
ALIGNMENT_PRESENT: Template = ("{Do} {the} appear in the video?", "yes")
ALIGNMENT_MAIN_SUBJECT: Template = ("{Be} {the} the main subject of the video?", "yes")
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
    def __init__(self, max_entities: int = 4, rubric: Rubric | str | None = None):
        if not 1 <= int(max_entities) <= MAX_ENTITIES:
            # More entities would push a set past 30 questions, and the extra ones are minor parts.
            raise ConfigError(f"max_entities must be between 1 and {MAX_ENTITIES}, got {max_entities}")
        self.max_entities = int(max_entities)
        if rubric is not None:
            self.rubric = load_rubric(rubric)

    @property
    def label(self) -> str:
        return "templates"

    def generate(self, prompt: str) -> QuestionSet:
        prompt = check_prompt(prompt)
        check_readable(prompt)  # another language or script: one line naming --generator llm, not junk questions
        rubric = self.rubric
        analysis = analyse(prompt)
        if not rank_entities(analysis):  # a prompt with no noun at all ("flying fast"): ask about its longest word
            word = _longest_word(prompt)
            return build_question_set(prompt, [Entity(name=word)], _questions_without_phrases(word, rubric),
                                      self.label, rubric)
        ranked = rank_entities(analysis)
        chosen, extra = ranked[:self.max_entities], ranked[self.max_entities:self.max_entities + EXTRA_PRESENT_ENTITIES]
        drafts = _within_limit(_questions(analysis, chosen, rubric), rubric)
        target = _prompt_dimension(rubric, "presence")
        room = max(MAX_QUESTIONS - len(drafts), 0) if target else 0
        drafts += [DraftQuestion(dimension=target, text=_subject(analysis, c.first).fill(ALIGNMENT_PRESENT[0]),
                                 good_answer=ALIGNMENT_PRESENT[1], entity=c.first.name) for c in extra[:room]]
        entities = [Entity(name=c.first.name) for c in chosen + extra[:room]]
        return build_question_set(prompt, entities, drafts, self.label, rubric)


def _prompt_dimension(rubric: Rubric, kind: str) -> str | None:
    """The dimension that gets this kind of question read off the prompt, or None when the rubric has none."""
    wanted = rubric.prompt_questions
    return wanted.dimension if kind in wanted.include else None


def _within_limit(drafts: list[DraftQuestion], rubric: Rubric) -> list[DraftQuestion]:
    """At most MAX_QUESTIONS: past it, the last entity-level questions read off the prompt go (attributes,
    counts...), then the last entity-level questions of any dimension."""
    drafts = list(drafts)
    target = rubric.prompt_questions.dimension
    while len({" ".join(d.text.lower().split()) for d in drafts}) > MAX_QUESTIONS:
        entity_level = [i for i, d in enumerate(drafts) if d.entity is not None]
        last = [i for i in entity_level if drafts[i].dimension == target] or entity_level
        if not last:
            break  # only whole-video questions: the rubric asked for them all
        del drafts[last[-1]]
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


@dataclass
class Asked:
    """The chosen entities as the templates see them: how a question names each, its kind, who moves."""

    subjects: list[Subject]
    names: list[str]
    kinds: list[str]  # "living", "thing" (can move) or "static", per entity
    movers: list[Candidate]


def _questions(analysis: Analysis, chosen: list[Candidate], rubric: Rubric) -> list[DraftQuestion]:
    living = [is_living(analysis, c.first) for c in chosen]
    # Finite motion verbs only: in "a city filled with flying cars" the city does not fly.
    motion_subjects = {analysis.head_key(s) for a in analysis.actions if not a.passive
                       and analysis.tokens[a.verb].lemma in MOTION_VERBS
                       and not analysis.tokens[a.verb].lower.endswith(("ing", "ed")) for s in a.subject}
    moving = [any(can_move(analysis, m, motion_subjects) for m in c.mentions) for c in chosen]
    actions = _chosen_actions(analysis, chosen)
    asked = Asked(subjects=[_subject(analysis, c.first) for c in chosen], names=[c.first.name for c in chosen],
                  kinds=["living" if alive else "thing" if moves else "static" for alive, moves in zip(living, moving)],
                  movers=_movers(analysis, chosen, actions, living, moving))
    drafts: list[DraftQuestion] = []
    for dimension in rubric.dimensions:  # the rubric's order: a repeated text stays in the first dimension
        if dimension.video_questions_first:
            drafts += _whole_video(dimension)
        drafts += _per_entity(dimension, asked)
        for mover in asked.movers:
            drafts += [DraftQuestion(dimension=dimension.key, text=_subject(analysis, mover.first).fill(t.text),
                                     good_answer=t.good_answer, entity=mover.first.name)
                       for t in dimension.entity_questions.get("mover", ())]
        if dimension.key == rubric.prompt_questions.dimension:
            drafts += _prompt_questions(analysis, chosen, asked, actions, rubric)
        if not dimension.video_questions_first:
            drafts += _whole_video(dimension)
    return drafts


def _per_entity(dimension: Dimension, asked: Asked) -> list[DraftQuestion]:
    """`per_entity_questions` questions spread over the entities that have templates of their kind (or "any"):
    few entities get several templates each (so a prompt with one thing still gets four questions per
    dimension); past four entities only the prompt's own questions ask about the rest."""
    eligible = [(e, templates) for e, kind in enumerate(asked.kinds)
                if (templates := dimension.entity_questions.get(kind) or dimension.entity_questions.get("any"))]
    out = []
    for n in range(dimension.per_entity_questions if eligible else 0):
        k = n % len(eligible)
        e, templates = eligible[k]
        template = templates[(n // len(eligible) + k) % len(templates)]  # distinct (entity, template) pairs
        out.append(DraftQuestion(dimension=dimension.key, text=asked.subjects[e].fill(template.text),
                                 good_answer=template.good_answer, entity=asked.names[e]))
    return out


def _prompt_questions(analysis: Analysis, chosen: list[Candidate], asked: Asked, actions: list[Action],
                      rubric: Rubric) -> list[DraftQuestion]:
    """What the prompt itself says, checked: its entities appear, the main subject, attributes, actions, counts,
    relations and a quoted text (each kind only if the rubric includes it)."""
    include = set(rubric.prompt_questions.include)
    found: list[tuple[str, str | None]] = []
    if "presence" in include:
        found += [(subject.fill(ALIGNMENT_PRESENT[0]), name) for subject, name in zip(asked.subjects, asked.names)]
    if "main_subject" in include:
        found.append((asked.subjects[0].fill(ALIGNMENT_MAIN_SUBJECT[0]), asked.names[0]))
    if "attributes" in include:
        found += _attribute_questions(analysis, chosen)
    for action in actions if "actions" in include else ():
        event = is_event(analysis, action.subject[0])  # a question about the video, not about an entity
        found.append((_action_question(analysis, action),
                      None if event else _entity_name_of(analysis, action.subject[0], chosen)))
    if "counts" in include:
        found += _count_questions(analysis, chosen)
    if "relations" in include:
        found += _relation_questions(analysis, chosen)
    if "quoted_text" in include:
        found += [(text, None) for text in _quoted_text_questions(analysis.prompt)]
    # every one of them has the good answer yes: the prompt asked for it
    return [DraftQuestion(dimension=rubric.prompt_questions.dimension, text=text, good_answer="yes", entity=name)
            for text, name in found]


def _whole_video(dimension: Dimension) -> list[DraftQuestion]:
    return [DraftQuestion(dimension=dimension.key, text=t.text, good_answer=t.good_answer, entity=None)
            for t in dimension.video_questions]


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
    word = max([w for w in words if not pronoun_like(w)] or words, key=len)  # never "they've" (docs/questions.md)
    if not any(ch.isalnum() for ch in word):
        raise DataError(f"the prompt {prompt!r} has no words to ask about")
    return word


def _questions_without_phrases(word: str, rubric: Rubric) -> list[DraftQuestion]:
    """Fallback when the chunker finds no noun: the first two templates for a thing about the prompt's main word,
    its presence and main-subject questions, then the whole-video questions."""
    subject = Subject(text=f"the {word}", plural=False)
    drafts = []
    for dimension in rubric.dimensions:
        templates = [(t.text, t.good_answer) for t in (dimension.entity_questions.get("thing")
                                                       or dimension.entity_questions.get("any") or ())[:2]]
        if dimension.key == rubric.prompt_questions.dimension:
            templates += [t for kind, t in (("presence", ALIGNMENT_PRESENT), ("main_subject", ALIGNMENT_MAIN_SUBJECT))
                          if kind in rubric.prompt_questions.include]
        drafts += [DraftQuestion(dimension=dimension.key, text=subject.fill(text), good_answer=good, entity=word)
                   for text, good in templates]
    for dimension in rubric.dimensions:
        drafts += _whole_video(dimension)
    return drafts
