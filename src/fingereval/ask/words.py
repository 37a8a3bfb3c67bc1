"""Word lists and the English lexicon (lemminflect's, shipped in its wheel) the chunker works from."""
from __future__ import annotations

import re
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
# The endings of a contraction, after the apostrophe, and the auxiliary each stands for: "they've" is
# "they" + "have", never one word (and never a thing), "it's" is "it" + "is".
CONTRACTION_ENDINGS: dict[str, str] = {"s": "is", "re": "are", "ve": "have", "ll": "will", "d": "would", "m": "am"}
# Words before a contraction's apostrophe that are not nouns: "it's", "that's", "there's", "let's".
CONTRACTED_WORDS = frozenset("i you he she it we they that there here what who where how let".split())
AUXILIARIES = BE_FORMS | frozenset("has have had having do does did can could will would shall should may "
                                   "might must".split())
ADVERBS = frozenset(
    "not never very also just only too quite rather really almost nearly slightly now soon already "
    "often always sometimes together forward forwards backward backwards upward upwards downward "
    "downwards away back even ever again instead meanwhile simultaneously".split())
# "more mysterious", "less crowded": before an adjective these grade it, they name nothing.
COMPARATIVES = frozenset("more less most least".split())
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
    "camera cameras shot shots close-up close-ups closeup lens angle view views viewpoint perspective pov video "
    "videos footage clip film movie frame frames scene scenes sequence style aesthetic atmosphere "
    "ambiance ambience mood tone feel vibe lighting illumination light lights shadow shadows palette "
    "composition motion motions movement movements pan zoom tilt focus depth resolution quality "
    "detail details effect effects render rendering animation timelapse time-lapse handheld fpv "
    "tableau image images art artwork capture mv still stills lapse macro".split())
# Nouns that name the camera or the shot: a word ending in -s after them is their verb ("the camera pans").
CAMERA_HEADS = frozenset("camera cameras shot lens video footage clip scene view pan zoom frame sequence close-up "
                         "closeup zoom-in zoom-out tilt tilt-up dolly".split())
# Events between people that an action question can follow ("an argument that escalates into a fight"):
# no entity, but what they do is in the video. Other event nouns ("the spin", "walks") are too often misparsed.
HAPPENINGS = frozenset("argument fight quarrel debate conversation discussion speech".split())
# What issue 19 found the chunker taking for things on the real prompts: events and actions named as
# nouns, times, lighting, style and format words, languages, places that are positions, and more
# abstractions. None is a thing a viewer could point at, so none becomes an entity.
EVENT_HEADS = frozenset(
    "chase stride leap jump flip spin dismount routine speech dance attack game search push-off banter joke "
    "flight fall goodbye farewell cheer twirl walk move contact interaction performance trip journey "
    "adventure exploration celebration operation heist planning layout activity action transition "
    "transformation reaction response invasion shift impact use event scenario wrongdoing lesson cue "
    "highlight accumulation adjustment rustle flickering mimic gesture gestures touch jeté pirouette soccer "
    "tennis badminton golf hockey landing launch stunt trick turn danger push push-up squat bungee hula "
    "hooping".split()) | HAPPENINGS
# Dances and games someone performs or plays ("dancing ballet", "playing tag", "performing hip-hop"): activities,
# like the sports above, not things on screen.
ACTIVITY_HEADS = frozenset("ballet tango salsa waltz hip-hop breakdance breakdancing flamenco yoga karate tag "
                           "hide-and-seek".split())
# Places whose "of" phrase is their name: "the city of Petra", "the Temple of Hephaestus" are one thing.
NAMED_PLACE_HEADS = frozenset("city town village temple church cathedral island isle river lake mount bay port "
                              "palace castle state kingdom republic province county".split())
TIME_HEADS = frozenset(
    "night day afternoon morning evening noon midday midnight dawn dusk sunset sunrise twilight winter "
    "spring summer autumn season hour golden-hour weekend temperature temperatures".split())
LIGHT_HEADS = frozenset(
    "sunlight daylight sunshine moonlight starlight glow hue hues tone tones color colors colour colours "
    "reflection reflections texture textures flare flares contrast brightness darkness".split())
# Style, quality and format words: about the rendering, never in it (also dropped from the front of a name).
STYLE_WORDS = frozenset(
    "4k 8k hd uhd 1080p 720p hdr cinematic realistic photorealistic hyperrealistic hyper-realistic "
    "ultra-realistic high-quality high-resolution high-definition slow-motion documentary western "
    "fashion fantasy pixar-style 3d 2d cgi vfx simulation impressionist impressionistic surreal surrealist "
    "minimalist minimalistic vintage retro anime cartoonish watercolor watercolour noir steampunk cyberpunk "
    "claymation stop-motion monochrome sepia slo-mo slow-mo slomo".split())
LANGUAGE_HEADS = frozenset(
    "english german french spanish italian portuguese russian chinese japanese korean arabic hindi "
    "dutch swedish greek turkish latin".split())
COLOUR_WORDS = frozenset(
    "red orange yellow green blue purple violet pink brown black white grey gray silver golden gold "
    "beige turquoise crimson magenta cyan navy teal maroon".split())
# Materials named on their own ("made of polished wood", "the glove is leather") are not things.
MATERIAL_HEADS = frozenset(
    "wood leather metal steel iron plastic silk cotton wool velvet denim marble concrete ceramic porcelain "
    "copper bronze brass aluminium aluminum fabric material rubber".split())
MORE_ABSTRACT_HEADS = frozenset(
    "speed fun challenge challenges style journey instability change changes unease attention discomfort "
    "solitude efficiency alignment pattern diligence commitment mix decay technology chaos communication "
    "agility dynamics skill coordination passion engagement melody song music vivacity ease precision "
    "complexity personality comfort confusion beauty scale altitude width experience conflict turmoil "
    "look design fluidity point ability visibility adaptability nature environment world landscape "
    "midground mid-air edge edges surface surfaces area space planet-scale appearance currency due "
    "sadness scenario aspect element elements nuance nuances quality vibe gaze expression behavior behaviour "
    "background backdrop foreground off-center imagery visible invisible idea era future scheme symbol scent "
    "voice level blend".split())
# How a body moves or holds itself (WordNet 3.0 files each of these nouns only under noun.act, noun.attribute,
# noun.time or noun.cognition, never as an object, a person or a body part): "the contrast in their gait, posture,
# and pace", "the dog's enthusiastic sprint", "the joyful return". Qualities of a motion, not things to point at.
MANNER_HEADS = frozenset("pace gait posture stance poise tempo cadence sprint return arrival departure "
                         "retreat pursuit phase phases company".split())  # company: "enjoying each other's company"
# Positions and the space things are in: "traces of smoke in the air", "the calm and romantic setting".
SPACE_HEADS = frozenset("air midair setting settings surroundings place".split())  # "remaining in place"
# What is heard, smelled or felt but never seen: "the wind causes the petals to ripple" (the petals are the thing).
UNSEEN_HEADS = frozenset("wind winds breeze breezes gust gusts sound sounds noise noises echo echoes smell smells "
                         "odor odors odour odours fragrance heat".split())
# Words that put a noun in a sequence of time: "the final stages", "the first stage" are points in a process,
# not the stage a show is on.
SEQUENCE_WORDS = frozenset("first final last early earlier initial later next middle subsequent".split())
SEQUENCE_HEADS = frozenset("stage stages".split())
# Words naming the place a shot shows, not a thing in it: before them a noun is the place ("a tense supermarket
# scene", "an office setting"), which is the entity. (Not "backdrop": the tune split labels "a jungle backdrop"
# as no thing.)
PLACE_FRAME_HEADS = frozenset("scene scenes setting settings".split())
# Participles English compounds with a noun into an adjective, often without the hyphen: "snow capped mountains",
# "tree lined streets", "sun kissed fields". The noun before them says what covers the thing; the thing follows.
COMPOUND_PARTICIPLES = frozenset("capped topped covered lined filled laden kissed soaked drenched stained "
                                 "swept streaked strewn dusted crusted encrusted clad".split())
# Genres: "the video style is thriller". What a style is called, never a thing in the video.
GENRE_WORDS = frozenset("thriller horror comedy drama romance mystery sci-fi suspense".split())
# Buildings, landmarks and landforms stay put even when a verb of motion says they "rise" or "stretch"
# ("the Eiffel Tower rises in the background"); a river is a landform, its water is what flows.
IMMOVABLE_HEADS = frozenset("tower building skyscraper landmark monument bridge house church cathedral temple "
                            "castle palace mountain hill cliff peak valley canyon river lake island road street "
                            "city town village".split())
# Abstract-noun endings; CONCRETE_ENDINGS are the visible things with those endings.
ABSTRACT_SUFFIXES = ("ness", "ity", "ment", "tion", "sion", "ance", "ence", "ism", "ship", "dom", "hood", "ency",
                     "ancy")
CONCRETE_ENDINGS = frozenset(
    "station stations intersection intersections apartment apartments equipment instrument instruments "
    "monument monuments ornament ornaments garment garments pavement compartment basement decoration "
    "decorations installation sculpture mechanism organism prism city facility university fence fences "
    "ambulance entrance residence audience ship ships spaceship starship battleship airship kingdom hood "
    "neighborhood neighbourhood wilderness lotion potion cushion mansion television fountain vegetation "
    "carnation constellation formation community communities".split())
# Ages are no things: "30s", "mid-30s", "early 20s", "10-year-old", "twenties".
AGE = re.compile(r"^(?:(?:mid|early|late)-?)?\d+s$|^\d+-(?:year|month)s?-old$|^(?:teens|twenties|thirties|forties|"
                 r"fifties|sixties|seventies|eighties|nineties)$")
# Nouns that are plural as they stand ("Do the sunglasses ...?").
INVARIANT_PLURALS = frozenset(
    "people police cattle staff clothes jeans pants glasses sunglasses scissors goggles shorts trousers "
    "binoculars passersby furnishings headphones".split())
# Things that are not alive but move or are moved in a scene; with the living, the parts and the doers
# of a motion verb, only these get "does it move" questions.
MOVABLE_HEADS = frozenset(
    "vehicle car truck bus train bike bicycle motorcycle scooter boat ship plane airplane aircraft "
    "helicopter drone rocket spaceship balloon kite ball football basketball baseball frisbee flag leaf "
    "leaves water wave stream waterfall smoke fire flame cloud rain rainstorm downpour drizzle ice "
    "haze mist fog dust splash puddle turbine windmill robot cup bottle knife fork spoon broom marker pen "
    "pencil brush scissors kettle bag purse book phone stick racket bat glove cloth towel blanket thread "
    "toy key bill coin record drink chair hat cap scarf sari jersey blouse skirt boot shoe sunglasses "
    "lipstick headphone gear plumage feather wing silhouette snowflake bubble confetti petal".split())
NON_ENTITY_HEADS = META_HEADS | ABSTRACT_HEADS | frozenset(
    "left right front back side sides top bottom middle center centre foreground distance position "
    "positions direction way ways time times moment moments beginning end year years day days second "
    "seconds minute minutes relationship relation relations interaction interactions contrast sense "
    "manner kind type sort variety lot number mixture range other others one ones each both all "
    "someone something everything anything nothing spatial expression expressions emotion emotions "
    "feeling feelings demeanor demeanour subject subjects process".split()) | EVENT_HEADS | ACTIVITY_HEADS \
    | TIME_HEADS | LIGHT_HEADS | STYLE_WORDS | LANGUAGE_HEADS | COLOUR_WORDS | MORE_ABSTRACT_HEADS | MANNER_HEADS \
    | SPACE_HEADS | GENRE_WORDS | UNSEEN_HEADS
# Parts and attributes of a main entity: kept, but ranked after the things they belong to.
PART_HEADS = frozenset(
    "hand hands arm arms leg legs foot feet finger fingers face faces eye eyes head heads hair mouth "
    "lips nose ear ears smile gaze body back shoulder shoulders paw paws tail fur skin attire clothing "
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
    "dinosaur dragon collie pet pets character characters figure protagonist barista cowboy veterinarian vet "
    "gymnast chef actress actor artist musician knight dj passerby passersby spectator spectators rebel "
    "force population grandchild goose geese parrot cheetah sloth chameleon monkey deer herd".split())
# "a group of people": the entity is the people; "a cup of coffee": the entity is the cup; "faint traces of
# smoke", "a wisp of steam": a quantity word, the entity is what there is some of.
COLLECTIVE_HEADS = frozenset(
    "group pair couple crowd herd flock swarm team bunch pack fleet row line set number lot handful "
    "dozen series stack pile collection array cluster variety kind type sort school".split()) \
    | frozenset("trace traces hint hints wisp wisps puff puffs speck specks bit bits amount patch patches".split())
CONTAINER_HEADS = frozenset("cup glass bowl plate bottle jar basket box bag bucket mug pot pitcher tray "
                            "piece slice".split())
# "a pool of water", "a droplet of dew": a body or a drop of a liquid is the thing, the liquid is what it is made of
# (benchmarks/questions/README.md, as "a cup of coffee" is the cup)
PORTION_HEADS = frozenset("pool pools puddle puddles drop drops droplet droplets".split())
# "a 3D model of a house", "a render of a couch": a rendering shows the thing named after "of", which is the entity
RENDERING_HEADS = frozenset("model models render renders rendering renderings".split())
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
# "wood" as an adjective is archaic: "polished wood stands" is wood + a verb
READING_OVERRIDES: dict[str, frozenset[str]] = {
    word: frozenset({"NOUN", "VERB"}) for word in ("zoom", "pan", "tilt", "dolly", "crane", "wood")} | {
    # the lexicon reads the hyphenated word by its first part ("close", an adjective); it is a kind of shot
    word: frozenset({"NOUN", "ADJ"}) for word in ("close-up", "closeup", "close-ups")}
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
