"""Yes/no token sets from a real (locally trained, Qwen-style) tokenizer."""
from __future__ import annotations

from fingereval.answer.format import parse_output, target_text, text_before_answer_slot
from fingereval.answer.tiny import build_tokenizer
from fingereval.answer.tokens import normalize_token_text, yes_no_token_ids


def test_spaced_quoted_and_cased_variants_are_in_the_sets():
    tok = build_tokenizer()
    yes, no = yes_no_token_ids(tok)
    texts_yes = {tok.decode([i]) for i in yes}
    texts_no = {tok.decode([i]) for i in no}
    for w in ("Yes", " yes", '"Yes', "YES", "yes"):
        ids = tok(w, add_special_tokens=False)["input_ids"]
        assert len(ids) == 1 and ids[0] in yes, w
    for w in ("No", " no", '"No', "NO"):
        ids = tok(w, add_special_tokens=False)["input_ids"]
        assert len(ids) == 1 and ids[0] in no, w
    assert all(normalize_token_text(t) == "yes" for t in texts_yes)
    assert all(normalize_token_text(t) == "no" for t in texts_no)
    assert not set(yes) & set(no)
    # words that merely start with yes/no are not answers
    for w in (" not", " now", " nothing"):
        ids = tok(w, add_special_tokens=False)["input_ids"]
        assert not (len(ids) == 1 and ids[0] in no), w


def test_normalisation():
    assert normalize_token_text(' "Yes.') == "yes"
    assert normalize_token_text("NO!") == "no"
    assert normalize_token_text("yesterday") == "yesterday"


def test_parse_output_variants():
    p = parse_output("<think>The ball is sharp.</think><answer>Yes</answer>")
    assert p.answer == "yes" and p.reason == "The ball is sharp." and p.well_formed
    assert parse_output('<think>x</think><answer>"No."</answer>').answer == "no"
    assert parse_output("<think>x</think><answer> yes</answer>").answer == "yes"
    missing = parse_output("the ball is sharp")
    assert missing.answer is None and not missing.well_formed and missing.reason == "the ball is sharp"
    assert not parse_output("<answer>Yes</answer>").well_formed  # no think part
    assert not parse_output("<think>x</think><answer>Maybe</answer>").well_formed


def test_target_text_round_trips_through_the_parser():
    for a in ("yes", "no"):
        p = parse_output(target_text(a, "Because."))
        assert p.answer == a and p.reason == "Because." and p.well_formed
        assert parse_output(target_text(a, None)).answer == a


def test_answer_slot_forcing():
    assert text_before_answer_slot("<think>r</think><answer>No</answer>") == ("<think>r</think><answer>", False)
    assert text_before_answer_slot("<think>r</think>  ") == ("<think>r</think><answer>", True)
