"""Find the entities (noun phrases) and actions of a video prompt, offline and deterministically.

The tagger (tagging.py) says what each word is; here determiner/number/adjective/noun runs become
phrases ("a modern office"), "a group of five people" becomes one phrase, and each verb gets its
subject and object ("two men" + "shake" + "hands") for the alignment questions.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from fingereval.ask.tagging import NOMINAL, SENTENCE_END, Token, plural_noun, tag, tokenize
from fingereval.ask.words import (COLLECTIVE_HEADS, CONTAINER_HEADS, HAPPENINGS, GERUND_PREPOSITIONS,
                                  NEGATIONS, INVARIANT_PLURALS, NON_ENTITY_HEADS, PLACE_FRAME_HEADS, PORTION_HEADS,
                                  SKIP_VERBS, STYLE_WORDS, verb_tags)

# Words that say what follows is absent: "without a hat", "free of clouds", "instead of a car".
ABSENCE_WORDS = frozenset("without minus sans".split())
ABSENCE_BEFORE_OF = frozenset("free devoid void absence lack instead".split())
QUOTES = frozenset('"“”«»')

@dataclass
class NounPhrase:
    """A chunk: determiners (dropped from the name), modifiers, and its head noun."""

    first: int  # index of the first token after the determiners
    last: int  # index of the head (or of the head of an attached "of" phrase)
    head: int  # index of the noun that says what the thing is
    number_head: int  # index of the noun that says singular/plural ("group" in "a group of men")
    det_start: int  # index of the first determiner, = first when there is none
    name: str = ""
    role: str = ""  # "subject", "object" or "pp": what comes before the phrase
    negated: bool = False  # "no other celestial bodies", "without a hat": the prompt says it is not there
    quoted: bool = False  # inside quotes: words of a text to render ("the quick brown fox"), not things


@dataclass
class Action:
    subject: list[NounPhrase]
    verb: int
    passive: bool
    rest: str  # the object or prepositional phrase after the verb, as in the prompt


@dataclass
class Analysis:
    prompt: str
    tokens: list[Token]
    phrases: list[NounPhrase] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)

    def head_word(self, phrase: NounPhrase) -> str:
        return self.tokens[phrase.head].lower

    def head_key(self, phrase: NounPhrase) -> str:
        """Mentions of one thing share this key: "two men" and "the men" both give "man"."""
        token = self.tokens[phrase.head]
        return (token.lemma or token.text).lower()

    def is_plural(self, phrase: NounPhrase) -> bool:
        token = self.tokens[phrase.number_head]
        if token.lower in INVARIANT_PLURALS:
            return True
        if phrase.number_head == phrase.head and phrase.first < phrase.head:
            before = self.tokens[phrase.first:phrase.head]
            if any(t.tag == "NUM" and t.lower != "one" for t in before):
                return True
        return token.tag == "NOUN" and plural_noun(token)

    def slice(self, first: int, last: int) -> str:
        return " ".join(self.prompt[self.tokens[first].start:self.tokens[last].end].split())


# ---------------------------------------------------------------- chunking


def _chunk(tokens: list[Token]) -> list[NounPhrase]:
    phrases: list[NounPhrase] = []
    i = 0
    while i < len(tokens):
        if tokens[i].tag not in {"DET", "POSS", "NUM", "ADJ", "NOUN", "PROPN"}:
            i += 1
            continue
        det_start = i
        while i < len(tokens) and tokens[i].tag in ("DET", "POSS"):
            i += 1
        first = i
        head = -1
        while i < len(tokens):
            t = tokens[i].tag
            if t == "NUM" and head >= 0:
                break  # "the moment | two people lock eyes"
            if t in ("NUM", "ADJ", "NOUN", "PROPN"):
                if t in NOMINAL:
                    head = i
                i += 1
            elif t == "ADV" and i + 1 < len(tokens) and tokens[i + 1].tag == "ADJ" and head < 0 \
                    and (i > first or i > det_start):
                i += 1  # "an intricately designed cup", "a dimly lit alley"
            else:
                break
        if head < 0:
            continue
        while first < head and tokens[first].lower in STYLE_WORDS:
            first += 1  # "a cinematic shot of a cat", "4K footage": the style is not part of the thing
        end = head
        if head == first + 1 and det_start < first and tokens[head].tag == "PROPN" and tokens[first].tag == "NOUN" \
                and tokens[first].text.islower() and not tokens[head].text.isupper():
            # "the bund Shanghai", "the river Thames", "his dog Max": a common noun and its name; but "a cat DJ"
            # (an acronym is a common noun in capitals) is a DJ
            head -= 1
        if head > first and tokens[head].lower in PLACE_FRAME_HEADS and tokens[head - 1].tag in NOMINAL \
                and tokens[head - 1].lower not in NON_ENTITY_HEADS:
            head -= 1  # "a tense supermarket scene", "an office setting": the place shown is the thing
        phrase = NounPhrase(first=first, last=head, head=head, number_head=head, det_start=det_start)
        b = det_start - 1
        while b >= 0 and tokens[b].tag == "ADV":
            b -= 1  # "with neatly combed hair" is still in the "with" phrase
        before = tokens[b] if b >= 0 else None
        if before is None or before.tag in ("PUNCT", "CONJ"):
            phrase.role = "subject"
        elif before.tag in ("VERB", "AUX"):
            phrase.role = "object"
        elif before.tag == "PRON":
            phrase.role = "subject"
        else:  # after a preposition, or a possessive "'s"
            phrase.role = "pp"
        if before is not None and before.lower in ("and", "or") and phrases and phrases[-1].last == b - 1:
            phrase.role = phrases[-1].role  # "a man with short hair and glasses": glasses are in the "with" phrase
        phrases.append(phrase)
        i = end + 1
    return _attach_of_phrases(tokens, phrases)


def _attach_of_phrases(tokens: list[Token], phrases: list[NounPhrase]) -> list[NounPhrase]:
    """Join "a group of five people" and "a cup of coffee" into one phrase."""
    out: list[NounPhrase] = []
    k = 0
    while k < len(phrases):
        phrase = phrases[k]
        nxt = phrases[k + 1] if k + 1 < len(phrases) else None
        head_word = tokens[phrase.head].lower
        holders = CONTAINER_HEADS | PORTION_HEADS  # "a cup of coffee", "a pool of water": the cup, the pool
        joins = (nxt is not None and nxt.det_start == phrase.last + 2 and tokens[phrase.last + 1].lower == "of"
                 and (head_word in COLLECTIVE_HEADS or head_word in holders
                      or tokens[phrase.head].lemma in COLLECTIVE_HEADS | holders))
        if joins:
            collective = head_word in COLLECTIVE_HEADS or tokens[phrase.head].lemma in COLLECTIVE_HEADS
            # "a herd of its kind": the "of" phrase names no other thing, the herd is the thing
            collective = collective and tokens[nxt.head].lower not in ("kind", "kinds", "sort", "type", "types")
            out.append(NounPhrase(first=phrase.first, last=nxt.last, head=nxt.head if collective else phrase.head,
                                  number_head=phrase.head, det_start=phrase.det_start, role=phrase.role))
            k += 2
        else:
            out.append(phrase)
            k += 1
    return out


def _name(analysis: Analysis, phrase: NounPhrase) -> str:
    text = analysis.slice(phrase.first, phrase.last)
    first = analysis.tokens[phrase.first]
    # A capital that only marks the sentence start is not part of the name ("Two men" -> "two men").
    if first.sentence_start and first.tag != "PROPN" and text[:1].isupper() and not text[:2].isupper():
        text = text[0].lower() + text[1:]
    return text


def _negated_here(tokens: list[Token], phrase: NounPhrase) -> bool:
    """"no people", "not a single cloud", "without a hat", "free of clouds", "neither a car nor ..."."""
    if any(tokens[k].lower in ("no", "neither") for k in range(phrase.det_start, phrase.first)):
        return True
    b = phrase.det_start - 1
    while b >= 0 and tokens[b].tag == "ADV" and tokens[b].lower not in NEGATIONS:
        b -= 1
    if b < 0:
        return False
    word = tokens[b].lower
    if word in ABSENCE_WORDS or word in ("not", "never", "nor", "neither"):
        return True
    return word == "of" and b >= 1 and tokens[b - 1].lower in ABSENCE_BEFORE_OF


def _mark_negated(tokens: list[Token], phrases: list[NounPhrase]) -> None:
    """Negated phrases, and the list they head: "no cars or people", "without a hat and gloves"."""
    previous: NounPhrase | None = None
    for phrase in phrases:
        phrase.negated = _negated_here(tokens, phrase)
        if not phrase.negated and previous is not None and previous.negated:
            between = [t.lower for t in tokens[previous.last + 1:phrase.det_start]]
            bare = phrase.det_start == phrase.first  # "and gloves", but not "and the sun shines"
            phrase.negated = bool(between) and (between[-1] in ("or", "nor")
                                                or (between[-1] in ("and", ",") and bare and len(between) == 1))
        previous = phrase


def _mark_quoted(tokens: list[Token], phrases: list[NounPhrase]) -> None:
    inside, quoted = False, set()
    for k, token in enumerate(tokens):
        if token.text in QUOTES:
            inside = not inside if token.text == '"' else token.text in '“«'
        elif inside:
            quoted.add(k)
    for phrase in phrases:
        phrase.quoted = phrase.head in quoted


# ---------------------------------------------------------------- actions


def _find_actions(analysis: Analysis) -> list[Action]:
    tokens = analysis.tokens
    phrase_ending_at = {p.last: p for p in analysis.phrases}
    phrase_starting_at = {p.det_start: p for p in analysis.phrases}
    actions: list[Action] = []
    for v, token in enumerate(tokens):
        if token.tag != "VERB" or token.lemma in SKIP_VERBS:
            continue
        j = v - 1
        while j >= 0 and tokens[j].tag == "ADV":
            j -= 1
        if any(tokens[k].lower in NEGATIONS or tokens[k].lower.endswith(("n't", "n’t"))
               for k in range(max(0, v - 3), v)):
            continue  # "did not make contact": nothing to look for
        if j >= 0 and (tokens[j].lower == "to" or (tokens[j].tag == "PREP" and tokens[j].lower in GERUND_PREPOSITIONS)):
            continue  # infinitives and gerunds have no subject of their own here
        after_aux = j >= 0 and tokens[j].tag == "AUX"
        while j >= 0 and tokens[j].tag == "AUX":
            j -= 1
        if j >= 0 and tokens[j].tag == "PRON":
            continue  # "they face": we do not resolve pronouns
        if j >= 1 and tokens[j].lower in ("that", "which", "who") and (j - 1) in phrase_ending_at:
            j -= 1  # "an argument that escalates": the argument escalates
        tags = verb_tags(token.text)
        subject = phrase_ending_at.get(j)
        finite = not token.lower.endswith("ing") and not ("VBN" in tags and not _object_follows(tokens, v))
        if subject is not None and (finite or after_aux) and subject.role in ("object", "pp") \
                and tokens[subject.last + 1].lower not in ("that", "which", "who"):
            subject = None  # "wearing a blue t-shirt moves a chair": the shirt is not what moves
        if subject is None:
            subject = _subject_to_the_left(analysis, v)
        if subject is None:
            continue
        subjects = [subject]
        # "a man and a woman walking": both are the subject.
        before = subject.det_start - 1
        if before >= 1 and tokens[before].lower == "and" and (before - 1) in phrase_ending_at \
                and phrase_ending_at[before - 1].role != "pp":
            subjects.insert(0, phrase_ending_at[before - 1])
        # An event is no entity, but what it does is checkable: "an argument that escalates into a fight".
        if any((analysis.head_word(s) in NON_ENTITY_HEADS or tokens[s.head].lemma in NON_ENTITY_HEADS)
               and analysis.head_key(s) not in HAPPENINGS or s.negated or s.quoted for s in subjects):
            continue
        rest = _rest_after(analysis, v, phrase_starting_at)
        if not rest and v + 1 < len(tokens) and tokens[v + 1].tag == "PRON":
            continue  # "securing it": without knowing what "it" is the question says nothing
        # Prompts describe the present: a past form without an object is a participle ("the hand,
        # adorned with a ring", "a cup placed on the table"), with one it is a past tense ("picked up a cup").
        passive = "VBN" in tags and not token.lower.endswith("ing") and not _object_follows(tokens, v)
        if passive and not rest:
            continue  # "the items are placed": placed where?
        actions.append(Action(subject=subjects, verb=v, passive=passive, rest=rest))
    return actions


def _object_follows(tokens: list[Token], v: int) -> bool:
    """Whether a direct object starts after the verb ("picked up a cup"), which makes it active."""
    k = v + 1
    if k < len(tokens) and tokens[k].lower in ("up", "down", "out", "off", "away", "back"):
        k += 1
    return k < len(tokens) and tokens[k].tag in ("DET", "POSS", "NUM", "NOUN", "ADJ", "PROPN")


def _subject_to_the_left(analysis: Analysis, v: int) -> NounPhrase | None:
    """The nearest phrase before the verb that begins a clause, within the sentence."""
    tokens = analysis.tokens
    for phrase in sorted((p for p in analysis.phrases if p.last < v), key=lambda p: -p.last):
        between = tokens[phrase.last + 1:v]
        if any(t.text in SENTENCE_END for t in between):
            return None
        if any(t.tag == "VERB" and not t.lower.endswith(("ing", "ed")) for t in between):
            return None  # another finite verb stands between: its clause, not ours
        if phrase.role == "subject":
            return phrase
    return None


def _rest_after(analysis: Analysis, v: int, phrase_starting_at: dict[int, NounPhrase]) -> str:
    """What the verb does to what: its object ("hands"), or a prepositional phrase ("on the street")."""
    tokens = analysis.tokens
    i = v + 1
    while i < len(tokens) and tokens[i].tag == "ADV" and tokens[i].lower not in ("away", "back", "together"):
        i += 1
    start = i
    # A particle or preposition right after the verb belongs with it: "picks up", "walking on".
    k = i
    while k < len(tokens) and tokens[k].tag == "PREP" and k - start < 2:
        k += 1
    phrase = phrase_starting_at.get(k)
    if phrase is None and k == start and k < len(tokens) and tokens[k].tag == "ADJ":
        return tokens[k].text  # "a protest turns violent"
    if phrase is None:  # "stretches out", "looks around", or nothing
        particle = k > start and tokens[k - 1].lower in ("up", "down", "out", "off", "away", "around")
        return analysis.slice(start, k - 1) if particle else ""
    last = phrase.last
    bare_singular = phrase.det_start == phrase.first == phrase.last and not plural_noun(tokens[phrase.last])
    if bare_singular and last + 2 < len(tokens) and tokens[last + 1].tag == "PREP" \
            and tokens[last + 2].lower == tokens[last].lower:
        last += 2  # "walking hand in hand", "side by side"
    # "the head of a Border Collie", "to the left of the dog"
    if last + 2 < len(tokens) and tokens[last + 1].lower == "of" and (last + 2) in phrase_starting_at:
        last = phrase_starting_at[last + 2].last
    return analysis.slice(start, last)


# ---------------------------------------------------------------- entry point


def analyse(prompt: str) -> Analysis:
    tokens = tag(tokenize(prompt))
    analysis = Analysis(prompt=prompt, tokens=tokens)
    analysis.phrases = _chunk(tokens)
    _mark_negated(tokens, analysis.phrases)
    _mark_quoted(tokens, analysis.phrases)
    for phrase in analysis.phrases:
        phrase.name = _name(analysis, phrase)
    analysis.actions = _find_actions(analysis)
    return analysis
