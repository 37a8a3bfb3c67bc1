"""Pronouns and contractions are never entities (issue 30 item 4): "they've" is "they" + "'ve", "it’s" is
"it" + "’s"; what the prompt names is. The expected entities are written by hand from the prompts."""
from __future__ import annotations

import pytest

from fingereval.ask import get_generator
from fingereval.ask.entities import pronoun_like
from fingereval.ask.nounphrases import analyse


@pytest.mark.parametrize("prompt, things", [
    ("They've parked the car; it's red.", ["car"]),
    ("It’s raining on the street and we watch.", ["street"]),
    ("We're watching as they’ve lifted a wooden box", ["wooden box"]),
    ("I'm holding a cup while you'll see that's a dog", ["cup", "dog"]),
    ("She'd open the door, he'll close the window", ["door", "window"]),
    ("There's a boat on the lake, here's the pier", ["boat", "lake", "pier"]),
])
def test_only_the_named_things_are_entities(prompt, things):
    assert [e.name for e in get_generator("templates").generate(prompt).entities] == things


@pytest.mark.parametrize("word, parts", [
    ("they've", [("they", "PRON"), ("'ve", "AUX")]), ("It’s", [("It", "PRON"), ("’s", "AUX")]),
    ("we're", [("we", "PRON"), ("'re", "AUX")]), ("I'm", [("I", "PRON"), ("'m", "AUX")]),
    ("dog's", [("dog", "NOUN"), ("'s", "POSS")]),  # a possessive stays one noun and its 's
])
def test_a_contraction_is_a_pronoun_and_an_auxiliary(word, parts):
    assert [(t.text, t.tag) for t in analyse(f"{word} tail").tokens[:2]] == parts


@pytest.mark.parametrize("prompt", ["They've arrived.", "We're leaving", "It’s over"])
def test_a_prompt_with_no_thing_is_not_asked_about_its_pronoun(prompt):
    names = [e.name.lower() for e in get_generator("templates").generate(prompt).entities]
    assert names and not any(pronoun_like(n) for n in names)


def test_pronoun_like():
    assert all(map(pronoun_like, ["they", "They've", "it’s", "we", "that's", "I'd"]))
    assert not any(map(pronoun_like, ["dog's", "Paris", "rock'n'roll", "theyve"]))
