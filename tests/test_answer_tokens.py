"""Yes/no token sets and the answer slot on Qwen2.5's real vocabulary."""
from __future__ import annotations

from fingereval.answer.format import parse_output, target_text, text_before_answer_slot
from fingereval.tiny.model import build_tokenizer
from fingereval.answer.tokens import answer_slot, normalize_token_text, yes_no_token_ids

# pinned: the sets on Qwen2.5's 151,643-token vocabulary (a change here changes every p_yes)
QWEN_YES = [' Yes', 'Yes', 'yes', ' yes', 'YES', ' YES', ':YES', '.Yes', '"Yes', '=yes', '_yes', '_YES', '.YES',
            '\u201cYes', '=YES', ',Yes']
QWEN_NO = [' no', 'no', ' No', 'No', ' NO', '_no', 'NO', '_NO', '.No', '.no', '-no', '=no', '/no', '_No', ':NO', '"No',
           '(no', '>No', '.NO', '\u201cNo', ':no', '\tno', '(NO', ',no', ',No', '-No']


def test_yes_no_sets_on_qwens_vocabulary_are_pinned():
    tok = build_tokenizer()
    yes, no = yes_no_token_ids(tok)
    assert [tok.decode([i]) for i in yes] == QWEN_YES
    assert [tok.decode([i]) for i in no] == QWEN_NO


def test_the_answer_slot_knows_the_merged_no():
    tok = build_tokenizer()
    pieces = lambda text: [tok.decode([i]) for i in tok(text, add_special_tokens=False)["input_ids"]]  # noqa: E731
    assert pieces("<answer>No") == ["<", "answer", ">No"]
    assert pieces("<answer>Yes") == ["<", "answer", ">", "Yes"]
    assert pieces("<answer> No") == ["<", "answer", ">", " No"]
    slot = answer_slot(tok, "<answer>")
    assert tok.decode([slot.last]) == ">"
    assert [tok.decode([i]) for i in slot.merged_no] == [">No"] and slot.merged_yes == ()
    assert len(slot.yes) == 16 and len(slot.no) == 26


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
