"""Word lists and the English lexicon (lemminflect's, shipped in its wheel) the chunker works from."""
from __future__ import annotations

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
    "setting settings lighting building buildings clothing ceiling paintings meeting wedding "
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
ALL_CLOSED = (DETERMINERS | POSSESSIVES | NUMBERS | PREPOSITIONS | CONJUNCTIONS | PRONOUNS | AUXILIARIES
              | ADVERBS)

# Verbs that describe the footage or link a description ("the camera captures", "they exhibit joy"):
# not actions to ask about.
SKIP_VERBS = frozenset(
    "be have do remain stay seem appear become look feel get let make create capture show showcase "
    "feature depict highlight display exhibit reveal include involve provide emphasize emphasise convey "
    "evoke reflect illuminate add combine allow bring focus adopt set style render film shoot zoom pan "
    "tilt begin start continue try want need enhance frame surround fill give offer portray illustrate "
    "accentuate complement contribute dominate lend see notice note observe mean seem suggest "
    "transition cut fade blend explore".split())

# Camera words the lexicon knows only as verbs ("a dolly zoom captures ...").
READING_OVERRIDES: dict[str, frozenset[str]] = {
    word: frozenset({"NOUN", "VERB"}) for word in ("zoom", "pan", "tilt", "dolly", "crane")}
ADJECTIVE_SUFFIXES = ("ible", "able", "ous", "ful", "ive", "al", "ic", "less", "ish", "ary")


# ---------------------------------------------------------------- lexicon


@lru_cache(maxsize=50_000)
def lexicon(word: str) -> dict[str, tuple[str, ...]]:
    return lemminflect.getAllLemmas(word)


@lru_cache(maxsize=50_000)
def _verb_forms(lemma: str) -> dict[str, tuple[str, ...]]:
    return lemminflect.getAllInflections(lemma, upos="VERB")


def verb_tags(word: str) -> set[str]:
    """Penn tags (VB, VBZ, VBG, VBD, VBN) a word can have as a verb."""
    word = word.lower()
    tags: set[str] = set()
    for lemma in lexicon(word).get("VERB", ()):
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
    """The -ing form for "Is the man {gerund} ...?": "shake" -> "shaking"."""
    if word.lower().endswith("ing") and "VBG" in verb_tags(word):
        return word.lower()
    forms = lemminflect.getInflection(lemma, tag="VBG")
    return forms[0] if forms else word.lower()
