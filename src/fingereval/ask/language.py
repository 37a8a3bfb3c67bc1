"""Whether the offline `templates` generator can read a prompt: English, in the Latin script.

The templates generator parses English with an English lexicon; a prompt in another script ("一只猫在弹钢琴")
or another language ("Un perro corre por la playa") would come out as junk entities, so it is refused in one
line that names `--generator llm`, which reads any language. The rule (docs/questions.md, "Prompts in other
languages", with its figures on the bundled English prompts):

- the letters outside quotes (a quoted text to render may be in any script) are mostly not Latin; or
- fewer than MIN_ENGLISH_SHARE of the prompt's lower-case words are English (a word of the closed classes
  or of lemminflect's English lexicon), counted when there are at least MIN_WORDS of them. Capitalised
  words inside a sentence are names ("Hatsune Miku", "Tokyo") and are not counted either way.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter

from fingereval.errors import DataError

from fingereval.ask.words import ALL_CLOSED, lexicon

MIN_LATIN_SHARE = 0.5  # of the letters outside quotes
MIN_ENGLISH_SHARE = 0.4  # of the counted words: 0.5 at the lowest on real English prompts, 0.25 at most on others
MIN_WORDS = 2  # fewer counted words say nothing about the language ("skyscraper", "perro")

_QUOTED = re.compile(r'"[^"]*"|“[^”]*”|«[^»]*»|「[^」]*」|『[^』]*』')
_WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*")
_SENTENCE_END = re.compile(r"[.!?;:]")


def _script(char: str) -> str:
    """The script of a letter, from its Unicode name: LATIN, CJK, HIRAGANA, CYRILLIC, ARABIC, ..."""
    name = unicodedata.name(char, "")
    return name.split(" ")[0] if name else "UNKNOWN"


def _is_english(word: str) -> bool:
    word = word.lower().replace("’", "'")
    if word in ALL_CLOSED or "'" in word:  # "they've", "it's", a possessive "dog's"
        return True
    return any(bool(lexicon(part)) for part in (word, *word.split("-")))


def unreadable_reason(prompt: str) -> str | None:
    """Why the templates generator cannot read `prompt`, in a few words, or None when it can."""
    text = _QUOTED.sub(" ", prompt)
    letters = [c for c in text if c.isalpha()]
    scripts = Counter(_script(c) for c in letters)
    if letters and scripts["LATIN"] / len(letters) < MIN_LATIN_SHARE:
        other = max((s for s in scripts if s != "LATIN"), key=lambda s: scripts[s])
        return f"it is written mostly in a non-Latin script ({other.lower()})"
    counted, previous_end = [], None
    for match in _WORD.finditer(text):
        word, gap = match.group(0), text[previous_end or 0:match.start()]
        sentence_start = previous_end is None or bool(_SENTENCE_END.search(gap))  # linear in the prompt's length
        previous_end = match.end()
        if word[0].isupper() and not sentence_start:
            continue  # a name
        counted.append(word)
    if len(counted) < MIN_WORDS:
        return None
    english = sum(_is_english(w) for w in counted)
    if english / len(counted) < MIN_ENGLISH_SHARE:
        return f"only {english} of its {len(counted)} words are English"
    return None


def check_readable(prompt: str, generator: str = "templates") -> None:
    """DataError in one line, naming `--generator llm`, for a prompt the templates generator cannot read."""
    reason = unreadable_reason(prompt)
    if reason is not None:
        shown = prompt if len(prompt) <= 60 else prompt[:57] + "..."
        raise DataError(f"the {generator} generator reads English prompts only and cannot parse {shown!r} ({reason}): "
                        f"use --generator llm, which reads a prompt in any language and writes the questions in "
                        f"English (or in --language)")


# The languages `--language` takes, by ISO 639-1 code: a small table rather than a dependency (langcodes,
# pycountry) because the name only goes into one sentence of the LLM's instructions.
LANGUAGES: dict[str, str] = {
    "en": "English", "es": "Spanish", "zh": "Chinese", "ja": "Japanese", "ko": "Korean", "fr": "French",
    "de": "German", "it": "Italian", "pt": "Portuguese", "ru": "Russian", "ar": "Arabic", "hi": "Hindi",
    "nl": "Dutch", "sv": "Swedish", "pl": "Polish", "tr": "Turkish", "vi": "Vietnamese", "th": "Thai",
    "id": "Indonesian", "uk": "Ukrainian", "el": "Greek", "he": "Hebrew", "cs": "Czech", "da": "Danish",
    "fi": "Finnish", "no": "Norwegian", "hu": "Hungarian", "ro": "Romanian",
}
DEFAULT_LANGUAGE = "en"


def language_name(language: str | None) -> str:
    """The English name of a language given by code ("es") or name ("Spanish"); ConfigError for another."""
    from fingereval.errors import ConfigError

    value = (language or DEFAULT_LANGUAGE).strip()
    code = value.lower().replace("_", "-").split("-")[0]  # "pt-BR", "zh_CN"
    if code in LANGUAGES:
        return LANGUAGES[code]
    by_name = {name.lower(): name for name in LANGUAGES.values()}
    if value.lower() in by_name:
        return by_name[value.lower()]
    raise ConfigError(f"unknown --language {language!r}: give an ISO 639-1 code ({', '.join(sorted(LANGUAGES))}) "
                      f"or one of those languages' English names")


def language_instruction(language: str | None) -> str:
    """The sentence the LLM generator adds to both steps: read any language, write in this one."""
    name = language_name(language)
    return (f"The prompt may be written in any language. Write the entity names, descriptions and questions in "
            f"{name}; keep the JSON keys, the dimension keys and the good_answer values (\"yes\" or \"no\") in "
            f"English, exactly as shown.")
