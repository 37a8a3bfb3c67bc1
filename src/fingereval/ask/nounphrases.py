"""Find the entities (noun phrases) and actions of a video prompt, offline and deterministically.

Why a small rule-based chunker: the usual NLP pipelines do not install offline from PyPI with
their models (spaCy's en_core_web_sm is not on PyPI; NLTK and TextBlob download their taggers and
corpora at run time). lemminflect does ship its English lexicon inside the wheel, so we use it for
what a word *can* be (noun, verb, adjective, with its inflections) and decide which it *is* from
its neighbours with a few rules, then chunk determiner/number/adjective/noun runs into phrases.
Video prompts are simple descriptive English, where these rules do well.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import lemminflect

# ---------------------------------------------------------------- closed word classes
DETERMINERS = frozenset(
    "a an the this that these those each every some any another both either neither all no several "
    "many few much most such".split())
POSSESSIVES = frozenset("my your his her its our their".split())
NUMBERS = frozenset(
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred "
    "hundreds thousand thousands million millions dozen dozens".split())
PREPOSITIONS = frozenset(
    "in on at of with by from to into onto through throughout over under above below across along "
    "around behind beside besides between beneath beyond near toward towards against among amongst "
    "amid amidst during after before past inside outside within without upon off via like up down "
    "out about underneath atop alongside per despite except for".split())
CONJUNCTIONS = frozenset(
    "and or but nor while as when whenever where whereas which who whom whose then so yet because "
    "although though if until since than once how why what".split())
PRONOUNS = frozenset(
    "i me you he him she it we us they them myself yourself himself herself itself ourselves "
    "themselves someone somebody something everyone everybody everything anyone anything nothing "
    "nobody there here".split())
SUBJECT_PRONOUNS = frozenset("i you he she it we they who which that".split())
BE_FORMS = frozenset("am is are was were be been being".split())
AUXILIARIES = BE_FORMS | frozenset("has have had having do does did can could will would shall should may "
                                   "might must".split())
ADVERBS = frozenset(
    "not never very also just only too quite rather really almost nearly slightly now soon already "
    "often always sometimes together forward forwards backward backwards upward upwards downward "
    "downwards away back even ever again instead meanwhile simultaneously".split())
NEGATIONS = frozenset("not never no".split())
# Prepositions after which a verb's -ing form is a gerund ("by shaking hands"), not an adjective.
GERUND_PREPOSITIONS = frozenset("by while after before from for without through upon".split())

# -ing words that name a thing after another noun ("office setting", "studio lighting"); any other
# -ing word after a noun is the noun's action ("a girl running", "a man feeling shame").
NOUN_ING = frozenset(
    "setting settings lighting building buildings clothing ceiling painting paintings meeting wedding "
    "evening morning railing opening parking housing bedding flooring seating "
    "stitching packaging filling frosting icing sibling siblings pudding grading "
    "dumpling dumplings string strings ring rings wing wings spring king thing things swing".split())
# Feelings and qualities a prompt attributes to someone: they cannot "appear in the video".
ABSTRACT_HEADS = frozenset(
    "joy happiness sadness shame regret anger fear excitement frustration disappointment empathy concern "
    "concentration satisfaction determination confidence curiosity surprise calm calmness serenity "
    "tension love affection pride relief anxiety depression grief sorrow nostalgia wonder awe energy "
    "harmony warmth peace tranquility tranquillity focus emotion emotions feeling feelings gratitude "
    "enthusiasm delight contentment embarrassment guilt remorse stress worry hope despair loneliness "
    "boredom fatigue elegance grace beauty power strength freedom innovation tradition diversity "
    "knowledge culture spirit significance importance professionalism".split())
# Heads that are about the footage, not a thing in it, or are positions and abstractions rather
# than things a viewer could point at: never entities, never subjects of actions.
META_HEADS = frozenset(
    "camera cameras shot shots close-up closeup lens angle view views viewpoint perspective pov video "
    "videos footage clip film movie frame frames scene scenes sequence style aesthetic atmosphere "
    "ambiance ambience mood tone feel vibe lighting illumination light lights shadow shadows palette "
    "composition motion motions movement movements pan zoom tilt focus depth resolution quality "
    "detail details effect effects render rendering animation timelapse time-lapse handheld fpv".split())
# Nouns that name the camera or the shot: a word ending in -s after them is their verb ("the camera pans").
CAMERA_HEADS = frozenset("camera cameras shot lens video footage clip scene view pan zoom frame sequence close-up "
                         "closeup zoom-in zoom-out tilt tilt-up dolly".split())
NON_ENTITY_HEADS = META_HEADS | ABSTRACT_HEADS | frozenset(
    "left right front back side sides top bottom middle center centre foreground distance position "
    "positions direction way ways time times moment moments beginning end year years day days second "
    "seconds minute minutes relationship relation relations interaction interactions contrast sense "
    "manner kind type sort variety lot number mixture range other others one ones each both all "
    "someone something everything anything nothing spatial expression expressions emotion emotions "
    "feeling feelings demeanor demeanour subject subjects process".split())
# Parts and attributes of a main entity: kept, but ranked after the things they belong to.
PART_HEADS = frozenset(
    "hand hands arm arms leg legs foot feet finger fingers face faces eye eyes head heads hair mouth "
    "lips nose ear ears smile gaze body shoulder shoulders paw paws tail fur skin attire clothing "
    "clothes outfit outfits dress shirt t-shirt jacket hoodie sweater coat hat glasses jeans pants "
    "shoes boots uniform apron accessories hairstyle hairstyles background backdrop setting".split())
LIVING_HEADS = frozenset(
    "man men woman women person people boy boys girl girls child children kid kids baby babies "
    "toddler teenager teenagers adult adults individual individuals human humans couple family friend "
    "friends player players dancer dancers worker workers chef waiter waitress musician singer "
    "student students teacher doctor nurse patient psychiatrist golfer athlete runner rider driver "
    "pedestrian pedestrians traveler travelers traveller travellers visitor visitors tourist tourists "
    "crowd audience soldier soldiers police officer farmer artist employee employees staff customer "
    "customers owner lady ladies gentleman gentlemen guy guys father mother son daughter brother sister "
    "grandmother grandfather elder elderly robot astronaut knight king queen prince princess "
    "dog dogs puppy cat cats kitten horse horses bird birds fish cow cows sheep goat pig chicken duck "
    "ducks rabbit bear bears tiger lion lions elephant elephants monkey panda wolf fox deer giraffe "
    "zebra dolphin whale shark turtle snake frog butterfly bee insect animal animals creature "
    "dinosaur dragon collie pet pets".split())
# "a group of people": the entity is the people; "a cup of coffee": the entity is the cup.
COLLECTIVE_HEADS = frozenset(
    "group pair couple crowd herd flock swarm team bunch pack fleet row line set number lot handful "
    "dozen series stack pile collection array cluster variety kind type sort".split())
CONTAINER_HEADS = frozenset("cup glass bowl plate bottle jar basket box bag bucket mug pot pitcher tray "
                            "piece slice".split())

# Camera words the lexicon knows only as verbs ("a dolly zoom captures ...").
READING_OVERRIDES: dict[str, frozenset[str]] = {
    word: frozenset({"NOUN", "VERB"}) for word in ("zoom", "pan", "tilt", "dolly", "crane")}
_ADJECTIVE_SUFFIXES = ("ible", "able", "ous", "ful", "ive", "al", "ic", "less", "ish", "ary")
_TOKEN = re.compile(r"[^\W_]+(?:[-'’][^\W_]+)*|[^\w\s]")
_POSSESSIVE_SUFFIX = re.compile(r"^(.+?)['’]s$", re.I)
_SENTENCE_END = frozenset(".!?;:")
_NOMINAL = frozenset({"NOUN", "PROPN"})
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
        if token.lower in ("people", "police", "cattle", "staff", "clothes", "jeans", "pants", "glasses"):
            return True
        if phrase.number_head == phrase.head and phrase.first < phrase.head:
            before = self.tokens[phrase.first:phrase.head]
            if any(t.tag == "NUM" and t.lower != "one" for t in before):
                return True
        return token.tag == "NOUN" and _plural_noun(token)

    def slice(self, first: int, last: int) -> str:
        return " ".join(self.prompt[self.tokens[first].start:self.tokens[last].end].split())


# ---------------------------------------------------------------- lexicon


@lru_cache(maxsize=50_000)
def _lexicon(word: str) -> dict[str, tuple[str, ...]]:
    return lemminflect.getAllLemmas(word)


@lru_cache(maxsize=50_000)
def _verb_forms(lemma: str) -> dict[str, tuple[str, ...]]:
    return lemminflect.getAllInflections(lemma, upos="VERB")


def verb_tags(word: str) -> set[str]:
    """Penn tags (VB, VBZ, VBG, VBD, VBN) a word can have as a verb."""
    word = word.lower()
    tags: set[str] = set()
    for lemma in _lexicon(word).get("VERB", ()):
        forms = _verb_forms(lemma)
        for tag, words in forms.items():
            if word in words:
                tags.add(tag)
        if "VBD" in tags and "VBN" not in forms:
            tags.add("VBN")  # lemminflect lists a past participle that equals the past tense only under VBD
    if not tags:
        if word.endswith("ing"):
            tags.add("VBG")
        elif word.endswith("ed"):
            tags |= {"VBD", "VBN"}
    return tags


def gerund(word: str, lemma: str) -> str:
    if word.lower().endswith("ing") and "VBG" in verb_tags(word):
        return word.lower()
    forms = lemminflect.getInflection(lemma, tag="VBG")
    return forms[0] if forms else word.lower()


def _open_readings(token: Token) -> tuple[frozenset[str], str]:
    """(possible tags, lemma) of an open-class word, from the lexicon or from its shape."""
    word = token.text
    if word[0].isupper() and not token.sentence_start:
        return frozenset({"PROPN"}), word  # "Border Collie", "Tokyo", "Parisian café"
    if word.lower() in READING_OVERRIDES:
        return READING_OVERRIDES[word.lower()], word.lower()
    lookup = word.split("-")[-1] if "-" in word else word
    entries = _lexicon(lookup) or _lexicon(lookup.lower())
    if token.sentence_start and word[0].isupper() and not _lexicon(lookup.lower()) and not entries \
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
        readings.discard("VERB") if not word.lower().endswith(("ed", "ing", "lit")) else None
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
    if readings == {"NOUN"} and word.lower().endswith(_ADJECTIVE_SUFFIXES):
        readings = {"NOUN", "ADJ"}  # the lexicon lacks many adjectives ("visible"); the chunk is the same
    if "ADV" in readings and word.lower().endswith("ly") and len(readings) > 1:
        readings = {"ADV"}
    if word.isdigit():
        return frozenset({"NUM"}), word
    return frozenset(readings), lemma or word.lower()


# ---------------------------------------------------------------- tagging


def tokenize(prompt: str) -> list[Token]:
    tokens: list[Token] = []
    sentence_start = True
    for match in _TOKEN.finditer(prompt):
        text = match.group(0)
        if text in _SENTENCE_END:
            tokens.append(Token(text, match.start(), match.end(), False, tag="PUNCT"))
            sentence_start = True
            continue
        if not text[0].isalnum():
            tokens.append(Token(text, match.start(), match.end(), False, tag="PUNCT"))
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
        if prev_tag in _NOMINAL or nxt is None or nxt.lower in AUXILIARIES or nxt.lower in ADVERBS:
            return "CONJ"
        return "DET"
    if word == "her":
        return "POSS" if nxt is not None and _could_be_nominal(nxt) else "PRON"
    if word.endswith(("n't", "n’t")):
        return "AUX"  # "can't", "doesn't"
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


def _could_be_nominal(token: Token) -> bool:
    if token.tag:
        return token.tag in _NOMINAL or token.tag == "ADJ"
    if token.lower in _ALL_CLOSED:
        return False
    readings, _ = _open_readings(token)
    return bool(readings & {"NOUN", "PROPN", "ADJ"})


def _next_is_noun(tokens: list[Token], i: int) -> bool:
    """Whether the word after i starts or continues a noun (used to spot adjectives and compounds)."""
    if i + 1 >= len(tokens):
        return False
    nxt = tokens[i + 1]
    if nxt.tag == "PUNCT" or nxt.lower in _ALL_CLOSED:
        return nxt.lower in NUMBERS
    readings, _ = _open_readings(nxt)
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
                      or (not tokens[j].tag and tokens[j].lower not in _ALL_CLOSED)):
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


def _decide(tokens: list[Token], i: int) -> str:
    token = tokens[i]
    readings = token.readings
    prev = tokens[i - 1] if i > 0 else None
    prev_tag = prev.tag if prev is not None and not token.sentence_start else "START"
    if prev_tag == "PUNCT":
        prev_tag = "START"
    next_class = _next_tag_class(tokens, i)
    next_noun = _next_is_noun(tokens, i)
    tags = verb_tags(token.text) if "VERB" in readings else set()

    if readings == {"PROPN"} or readings == {"NUM"} or readings == {"ADV"}:
        return next(iter(readings))
    if token.lower == "close" and i + 1 < len(tokens) and tokens[i + 1].lower == "up":
        return "ADJ"  # "Close up shot"
    if prev is not None and prev.lower in CAMERA_HEADS and "VBZ" in tags:
        return "VERB"  # "the camera pans", "a slow pan captures"
    before_conj = tokens[i - 2] if prev is not None and prev.lower in ("and", "or") and i >= 2 else None
    if before_conj is not None and before_conj.tag == "ADJ" and readings & {"ADJ", "VERB"} and next_noun:
        return "ADJ"  # "a lively and engaging atmosphere"
    if before_conj is not None and before_conj.tag == "VERB" and "VERB" in readings and not next_noun \
            and tags & verb_tags(before_conj.text):
        return "VERB"  # "as they whip and flow"
    if "ADJ" in readings and i + 2 < len(tokens) and tokens[i + 1].lower in (",", "and", "or") \
            and _open_readings(tokens[i + 2])[0] & {"ADJ"} and tokens[i + 2].lower not in _ALL_CLOSED:
        return "ADJ"  # "a dark, mystical swamp"
    if prev_tag == "ADV" and next_noun and tags and tags <= {"VBD", "VBN"}:
        return "ADJ"  # "neatly combed hair"
    verb_first = prev_tag in ("PRON", "ADV") or (prev is not None and prev.tag == "AUX" and prev.lower not in BE_FORMS
                                                  and prev.lower not in ("has", "have", "had", "having"))
    if "VERB" in readings and (verb_first or (prev is not None and prev.lower == "to" and "VB" in tags)):
        return "VERB"
    if prev is not None and prev.lower in BE_FORMS and tags & {"VBG", "VBN"}:
        return "VERB"  # "is running", "are dressed"
    if prev is not None and prev.lower in ("has", "have", "had") and tags & {"VBN", "VBG"}:
        # "has stopped", but "has tousled hair" and "has shimmering scales" are adjectives
        return "ADJ" if next_noun else "VERB"
    if prev is not None and prev.lower in ("both", "each", "all") and "VBG" in tags and not next_noun:
        return "VERB"  # "both facing forward"

    if "VERB" in readings and tags & {"VBN", "VBG"} and not readings & {"NOUN", "ADJ"}:
        # A participle before a noun modifies it ("tousled hair", "a beaming smile"), except a verb
        # with its object ("a man painting walls", "by shaking hands").
        if not next_noun and "VBG" in tags and prev_tag in ("DET", "ADJ", "POSS"):
            return "NOUN"  # "intricate stitching", "the docking"
        if next_noun:
            if "VBN" in tags and prev_tag not in ("NOUN", "PROPN", "PRON"):
                return "ADJ"
            if "VBG" in tags and (prev_tag in _PRENOMINAL or
                                  (prev_tag == "PREP" and prev.lower not in GERUND_PREPOSITIONS)):
                return "ADJ"
        return "VERB"

    if prev_tag == "START" and not token.sentence_start and "VBG" in tags and token.lower not in NOUN_ING \
            and not (i >= 2 and tokens[i - 2].tag == "ADJ"):
        return "VERB"  # ", revealing intricate carvings", but "soft, flowing hair"
    reduced_relative = (prev_tag in ("NOUN", "PROPN") and "VBG" in tags
                        and (token.lower not in NOUN_ING or next_class in _OBJECT_STARTERS or next_noun))
    if "ADJ" in readings and next_noun and not reduced_relative:
        return "ADJ"
    if "VERB" in readings and readings & {"NOUN", "ADJ", "ADV"}:
        if prev_tag in _PRENOMINAL:
            return "NOUN" if "NOUN" in readings else "ADJ"
        if prev_tag in ("NOUN", "PROPN"):
            next_readings = _open_readings(tokens[i + 1])[0] if next_class == "OPEN" else frozenset()
            if "VBZ" in tags and not _plural_noun(prev) and (
                    next_class in ("DET", "POSS", "NUM", "PREP", "ADV", "PRON")
                    or next_readings & {"ADJ", "ADV"} or (next_readings and "VERB" not in next_readings)
                    or (next_readings == {"VERB"} and "VBN" in verb_tags(tokens[i + 1].text))):
                # "a man stands in ...", "the camera remains still", "his face shows amusement",
                # "the background remains blurred"
                return "VERB"
            if tags & {"VBP"} and _plural_noun(prev) and token.lower in _lexicon(token.lower).get("NOUN", ()):
                return "VERB"  # "her lips tremble": a compound would be "lip trembles"
            if tags & {"VB", "VBP"} and _plural_noun(prev) and (next_class != "END" and next_class != "CONJ"):
                return "VERB"  # "two men shake hands"
            if "VBG" in tags:
                if token.lower in NOUN_ING and next_class not in _OBJECT_STARTERS and not next_noun:
                    return "NOUN"  # "an office setting", but "a person lighting incense"
                return "VERB"  # "a girl running"
            if tags & {"VBD", "VBN"} and "NOUN" not in readings:
                return "VERB"
            if "VBZ" in tags and next_class == "END" and _after_clause_word(tokens, i):
                return "VERB"  # "as the model moves."
            return "NOUN"
        if prev_tag in ("VERB", "AUX"):
            if "ADJ" in readings and not next_noun:
                return "ADJ"  # "remains still"
            return "NOUN" if "NOUN" in readings else "ADJ"
        if prev_tag == "PREP":
            if "VBG" in tags and prev.lower in GERUND_PREPOSITIONS:
                return "VERB"
            return "NOUN" if "NOUN" in readings else "ADJ"
        # At the start of a clause: an imperative ("Capture a time-lapse video") or a participle
        # after "and" ("... and wearing a blue t-shirt").
        if prev_tag == "START" and token.sentence_start and "VB" in tags and next_class in _OBJECT_STARTERS:
            return "VERB"
        if prev_tag == "START" and "VBG" in tags and token.lower not in NOUN_ING and (
                next_class in _OBJECT_STARTERS | {"PREP", "ADV"} or _looks_like_verb_follower(tokens[i + 1])):
            return "VERB"  # ", holding a steaming cup", ", standing proudly"
        if prev_tag == "START" and not token.sentence_start and "VBZ" in tags and i + 1 < len(tokens) and (
                _open_readings(tokens[i + 1])[0] == {"ADJ"} or next_class in _OBJECT_STARTERS | {"PREP"}
                or _looks_like_verb_follower(tokens[i + 1])):
            return "VERB"  # "is steaming, looks delicious", "The person, wearing a suit, moves their fingers"
        if prev_tag == "CONJ" and "VBG" in tags and token.lower not in NOUN_ING:
            return "VERB"  # "wearing armor and holding katanas"
        if prev_tag == "CONJ" and tags & {"VBZ", "VBD", "VB", "VBP"} and (
                next_class in _OBJECT_STARTERS or (next_class == "PREP" and tokens[i + 1].lower != "of")):
            return "VERB"  # "... and sits on", "... and showcase the details", not "the hem and cuffs of"
        return "NOUN" if "NOUN" in readings else "ADJ"
    if "NOUN" in readings:
        if "ADJ" in readings and prev_tag in ("AUX", "VERB") and not next_noun:
            return "ADJ"
        return "NOUN"
    if "ADJ" in readings:
        return "ADJ"
    if "VERB" in readings:
        return "VERB"
    return "ADV"


def _after_clause_word(tokens: list[Token], i: int) -> bool:
    """Whether the noun phrase before token i starts right after "as", "while", "when", ..."""
    j = i - 1
    while j >= 0 and tokens[j].tag in ("NOUN", "PROPN", "ADJ", "DET", "POSS", "NUM"):
        j -= 1
    return j >= 0 and tokens[j].tag == "CONJ" and tokens[j].lower not in ("and", "or")


def _plural_noun(token: Token | None) -> bool:
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
    return not _lexicon(word) and word.endswith("s") and not word.endswith(("ss", "us", "is"))


_ALL_CLOSED = (DETERMINERS | POSSESSIVES | NUMBERS | PREPOSITIONS | CONJUNCTIONS | PRONOUNS | AUXILIARIES
               | ADVERBS)


def tag(tokens: list[Token]) -> list[Token]:
    for i, token in enumerate(tokens):
        if token.tag:  # punctuation and possessive 's
            continue
        closed = _closed_tag(tokens, i)
        if closed:
            token.tag, token.lemma = closed, token.lower
            continue
        token.readings, token.lemma = _open_readings(token)
        token.tag = _decide(tokens, i)
        if token.tag == "VERB":
            verb_lemmas = _lexicon(token.lower).get("VERB", ())
            token.lemma = verb_lemmas[0] if verb_lemmas else token.lower
        elif token.tag == "NOUN":
            noun_lemmas = _lexicon(token.text).get("NOUN", ()) or _lexicon(token.lower).get("NOUN", ())
            token.lemma = noun_lemmas[0] if noun_lemmas else token.lower
    return tokens


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
                if t in _NOMINAL:
                    head = i
                i += 1
            elif t == "ADV" and i + 1 < len(tokens) and tokens[i + 1].tag == "ADJ" and head < 0 \
                    and (i > first or i > det_start):
                i += 1  # "an intricately designed cup", "a dimly lit alley"
            else:
                break
        if head < 0:
            continue
        phrase = NounPhrase(first=first, last=head, head=head, number_head=head, det_start=det_start)
        b = det_start - 1
        while b >= 0 and tokens[b].tag == "ADV":
            b -= 1  # "with neatly combed hair" is still in the "with" phrase
        before = tokens[b] if b >= 0 else None
        if before is None or before.tag in ("PUNCT", "CONJ"):
            phrase.role = "subject"
        elif before.tag in ("VERB", "AUX"):
            phrase.role = "object"
        elif before.tag == "PREP":
            phrase.role = "pp"
        else:
            phrase.role = "subject" if before.tag in ("PRON", "ADV") else "pp"
        if before is not None and before.lower in ("and", "or") and phrases and phrases[-1].last == b - 1:
            phrase.role = phrases[-1].role  # "a man with short hair and glasses": glasses are in the "with" phrase
        phrases.append(phrase)
        i = head + 1
    return _attach_of_phrases(tokens, phrases)


def _attach_of_phrases(tokens: list[Token], phrases: list[NounPhrase]) -> list[NounPhrase]:
    """Join "a group of five people" and "a cup of coffee" into one phrase."""
    out: list[NounPhrase] = []
    k = 0
    while k < len(phrases):
        phrase = phrases[k]
        nxt = phrases[k + 1] if k + 1 < len(phrases) else None
        head_word = tokens[phrase.head].lower
        joins = (nxt is not None and nxt.det_start == phrase.last + 2 and tokens[phrase.last + 1].lower == "of"
                 and (head_word in COLLECTIVE_HEADS or head_word in CONTAINER_HEADS
                      or tokens[phrase.head].lemma in COLLECTIVE_HEADS | CONTAINER_HEADS))
        if joins:
            collective = head_word in COLLECTIVE_HEADS or tokens[phrase.head].lemma in COLLECTIVE_HEADS
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


# ---------------------------------------------------------------- actions

SKIP_VERBS = frozenset(
    "be have do remain stay seem appear become look feel get let make create capture show showcase "
    "feature depict highlight display exhibit reveal include involve provide emphasize emphasise convey "
    "evoke reflect illuminate add combine allow bring focus adopt set style render film shoot zoom pan "
    "tilt begin start continue try want need enhance frame surround fill give offer portray illustrate "
    "accentuate complement contribute dominate lend see notice note observe mean seem suggest "
    "transition cut fade blend explore".split())


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
        after_be = j >= 0 and tokens[j].lower in BE_FORMS
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
        if any(analysis.head_word(s) in NON_ENTITY_HEADS or tokens[s.head].lemma in NON_ENTITY_HEADS
               for s in subjects):
            continue
        rest = _rest_after(analysis, v, phrase_starting_at)
        if not rest and v + 1 < len(tokens) and tokens[v + 1].tag == "PRON":
            continue  # "securing it": without knowing what "it" is the question says nothing
        right_after_subject = subject.last == j and not after_be
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
        if any(t.text in _SENTENCE_END for t in between):
            return None
        if any(t.tag == "VERB" and not (t.lower.endswith(("ing", "ed")) or t.lemma in ("wear",))
               for t in between):
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
    if phrase is None:
        return analysis.slice(start, k - 1) if k > start and tokens[k - 1].lower in ("up", "down", "out", "off", "away", "around") else ""
    last = phrase.last
    # "the head of a Border Collie", "to the left of the dog"
    if last + 2 < len(tokens) and tokens[last + 1].lower == "of" and (last + 2) in phrase_starting_at:
        last = phrase_starting_at[last + 2].last
    return analysis.slice(start, last)


# ---------------------------------------------------------------- entry point


def analyse(prompt: str) -> Analysis:
    tokens = tag(tokenize(prompt))
    analysis = Analysis(prompt=prompt, tokens=tokens)
    analysis.phrases = _chunk(tokens)
    for phrase in analysis.phrases:
        phrase.name = _name(analysis, phrase)
    analysis.actions = _find_actions(analysis)
    return analysis
