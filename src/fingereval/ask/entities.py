"""Which noun phrases of a prompt name visible things, and which of those can move.

An entity is something the prompt asks to be on screen: a concrete noun and its phrase. Not one:
style, quality and format words (4K, cinematic), ages ("in his mid-30s"), a colour or material on
its own ("black and white", "made of wood"), abstract nouns (speed, challenges, atmosphere),
gerunds used as events ("the flapping of wings"), words inside quotes (a text to render),
whatever the prompt negates ("no other celestial bodies", "without a hat"), what a verb is compared
with ("looking like a mother and son"), nouns WordNet files only as feelings, thoughts or qualities
("lost in thought"; abstract_nouns.py) and what is felt or heard but not seen ("the wind").
"""
from __future__ import annotations

import re

from fingereval.ask.abstract_nouns import ABSTRACT_NOUNS
from fingereval.ask.nounphrases import Analysis, NounPhrase
from fingereval.ask.words import (ABSTRACT_SUFFIXES, AGE, BE_FORMS, CAMERA_HEADS, CONCRETE_ENDINGS, CONTRACTED_WORDS,
                                  HAPPENINGS, IMMOVABLE_HEADS, LIVING_HEADS, MATERIAL_HEADS, MOVABLE_HEADS,
                                  NAMED_PLACE_HEADS, NON_ENTITY_HEADS, NOUN_ING, PART_HEADS, PRONOUNS, RENDERING_HEADS,
                                  SEQUENCE_HEADS, SEQUENCE_WORDS, lexicon)


def pronoun_like(word: str) -> bool:
    """A pronoun or a contraction of one ("they", "they've", "it’s"): it stands for a thing, it never is one."""
    stem = re.split(r"['’]", word.lower(), maxsplit=1)[0]
    return word.lower() in PRONOUNS or ("'" in word or "’" in word) and stem in CONTRACTED_WORDS


def _abstract(word: str) -> bool:
    return word.endswith(ABSTRACT_SUFFIXES) and word not in CONCRETE_ENDINGS


def _event_gerund(analysis: Analysis, phrase: NounPhrase) -> bool:
    """"the synchronized flapping", "the act of cleaning": an -ing head that is not a thing word."""
    token = analysis.tokens[phrase.head]
    word = token.lower
    return word.endswith("ing") and word not in NOUN_ING and bool(lexicon(word).get("VERB"))


def _idiom(analysis: Analysis, phrase: NounPhrase) -> bool:
    """"a bird's eye view": the bird is a way of looking, not in the video."""
    tokens = analysis.tokens
    k = phrase.head
    return k + 2 < len(tokens) and tokens[k + 1].tag == "POSS" and tokens[k + 2].lower == "eye"


# Words for a piece of something: before "of the frame" they are a position.
_PART_WORDS = frozenset("part parts portion half corner corners section".split())
# Particles a verb takes before "like": "falling off like leaves".
_PARTICLES = frozenset("off up down out away around about over".split())


def _simile(analysis: Analysis, phrase: NounPhrase) -> bool:
    """"looking like a mother and son", "ripple like waves": after a verb, "like" compares with a thing that is not
    in the video. After a noun it gives examples, which are ("objects like a teapot and a toy train")."""
    tokens, k = analysis.tokens, phrase.det_start
    if k >= 2 and tokens[k - 1].lower in ("and", "or"):
        before = [p for p in analysis.phrases if p.last == k - 2]
        return bool(before) and _simile(analysis, before[0])  # "a mother and son": both compared
    j = k - 2
    if j < 0 or tokens[k - 1].lower != "like":
        return False
    while j > 0 and (tokens[j].tag == "ADV" or tokens[j].lower in _PARTICLES):
        j -= 1
    return tokens[j].tag == "VERB"


def _not_in_frame(analysis: Analysis, phrase: NounPhrase) -> bool:
    """"in the style of Ukiyo", "waves on sand by Hokusai": a style, an artist, a name or a heading, not a thing."""
    tokens, k = analysis.tokens, phrase.det_start
    if k >= 2 and tokens[k - 1].lower == "of" and tokens[k - 2].lower in ("style", "styles", "manner"):
        return True
    if _simile(analysis, phrase):
        return True
    end = phrase.last + 1
    if tokens[phrase.head].lower in _PART_WORDS and end + 1 < len(tokens) and tokens[end].lower == "of":
        after = tokens[end + 2] if tokens[end + 1].tag == "DET" and end + 2 < len(tokens) else tokens[end + 1]
        if after.lower in CAMERA_HEADS or after.lower in ("screen", "image", "picture"):
            return True  # "at the lower part of the frame": a place in the picture, not a thing
    end = phrase.last + 1
    if k >= 2 and tokens[k - 1].lower == "of" and tokens[phrase.head].tag == "PROPN" \
            and tokens[k - 2].lower in NAMED_PLACE_HEADS:
        return True  # "the city of Petra": the name of the city, which is the entity
    if k >= 2 and tokens[k - 1].lower in BE_FORMS and tokens[k - 2].lower in ("style", "genre") \
            and phrase.det_start == phrase.first:
        return True  # "the video style is thriller": the style's name, not a thing
    if phrase.det_start == phrase.head and tokens[phrase.head].sentence_start and end < len(tokens) \
            and tokens[end].text == ":":
        return True  # "Cover: a robot ...", "Focus: kids playing": a heading, not a thing
    return (k >= 2 and tokens[k - 1].lower == "by" and tokens[k - 2].tag in ("NOUN", "PROPN")
            and tokens[phrase.head].tag == "PROPN" and (end >= len(tokens) or tokens[end].tag == "PUNCT"))


def _rendering_of(analysis: Analysis, phrase: NounPhrase) -> bool:
    """"a 3D model of a house", "a 3D model render of a couch": the rendering shows the thing after "of"."""
    tokens, k = analysis.tokens, phrase.head
    if tokens[k].lower not in RENDERING_HEADS:
        return False
    while k + 1 < len(tokens) and tokens[k + 1].lower in RENDERING_HEADS:
        k += 1  # "model render", which the tagger may read as a noun and a verb
    return k + 2 < len(tokens) and tokens[k + 1].lower == "of" and tokens[k + 2].tag in ("DET", "NUM", "ADJ", "NOUN",
                                                                                           "PROPN")


# Prepositions before a bare "space" that make it outer space: "flying in space", "zooming in from space".
_SPACE_PREPOSITIONS = frozenset("in into through from across".split())


def _outer_space(analysis: Analysis, phrase: NounPhrase) -> bool:
    """"flying in space", "outer space": the place beyond the sky, which is seen as the sky is; "the crowded space"
    and "personal space" (with a determiner or another modifier) stay abstract."""
    tokens, k = analysis.tokens, phrase.head
    if tokens[k].lower != "space":
        return False
    if k >= 1 and tokens[k - 1].lower == "outer":
        return True
    return phrase.det_start == k and k >= 1 and tokens[k - 1].lower in _SPACE_PREPOSITIONS


def is_visible_thing(analysis: Analysis, phrase: NounPhrase) -> bool:
    if phrase.negated or phrase.quoted or _not_in_frame(analysis, phrase) or _rendering_of(analysis, phrase):
        return False
    if _outer_space(analysis, phrase):
        return True
    word, key = analysis.head_word(phrase), analysis.head_key(phrase)
    if word == "back" and analysis.tokens[phrase.det_start].tag == "POSS":
        return True  # "down her back": the body part, not a position ("in the back")
    if pronoun_like(word) or word in NON_ENTITY_HEADS or key in NON_ENTITY_HEADS or AGE.match(word):
        return False
    if any(lemma in NON_ENTITY_HEADS for lemma in lexicon(word).get("NOUN", ())):
        return False  # "jumps" the tagger left unlemmatised
    if all(lemma in ABSTRACT_NOUNS for lemma in {key, *lexicon(word).get("NOUN", ())}):
        return False  # "twists in disgust", "lost in thought": no sense of the word is a thing (but "letters" is)
    if (key in MATERIAL_HEADS or word in MATERIAL_HEADS) and phrase.last == phrase.head:
        return False  # "made of polished wood"; but "a glass of water" is a glass
    if _abstract(word) or _abstract(key):
        return False
    if word in SEQUENCE_HEADS and any(t.lower in SEQUENCE_WORDS for t in analysis.tokens[phrase.det_start:phrase.head]):
        return False  # "the final stages": a point in a process
    return not (_event_gerund(analysis, phrase) or _idiom(analysis, phrase))


def is_event(analysis: Analysis, phrase: NounPhrase) -> bool:
    """"a heated argument", "the chase": not an entity, but the subject of an action question about the video."""
    return not (phrase.negated or phrase.quoted) and analysis.head_key(phrase) in HAPPENINGS


def is_living(analysis: Analysis, phrase: NounPhrase) -> bool:
    return analysis.head_word(phrase) in LIVING_HEADS or analysis.head_key(phrase) in LIVING_HEADS


def can_move(analysis: Analysis, phrase: NounPhrase, motion_subjects: set[str]) -> bool:
    """Living things, their parts and clothes, things that are moved or flow, and doers of a motion verb;
    never a building, a landmark or a landform ("the Eiffel Tower rises": it stands)."""
    key = analysis.head_key(phrase)
    if (key in IMMOVABLE_HEADS or analysis.head_word(phrase) in IMMOVABLE_HEADS) and not is_living(analysis, phrase):
        return False
    return (is_living(analysis, phrase) or key in motion_subjects or key in MOVABLE_HEADS
            or analysis.head_word(phrase) in MOVABLE_HEADS
            or (key in PART_HEADS and key not in ("background", "backdrop", "setting")))
