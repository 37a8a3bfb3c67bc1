"""The exact answer slot on Qwen's real vocabulary, checked on rigged bigram models with a known p_yes.

On that vocabulary `<answer>No` is `<` `answer` `>No` while `<answer>Yes` is `<` `answer` `>` `Yes`. Reading
only the distribution after a standalone `>` gives P(Yes|>) / (P(Yes|>) + P(No|>)) = 0.63 on the first rig
below, where the exact marginal over the model's tokenizations is 0.39.
"""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from fingereval.answer.transformers_backend import TransformersAnswerer
from fingereval.cli import app
from fingereval.schema import Question
from fingereval.video import VideoConfig, load_video
from rigged import rig, uniform_rest

VC = VideoConfig(size=112)
QUESTIONS = [Question(id=f"q{i}", dimension="text_alignment", text=t, good_answer="yes")
             for i, t in enumerate(["Does a red square appear?", "Is the square moving?", "Is it sharp?"])]


def chain(p_gt: float, p_merged_no: float) -> dict[str, dict[str, float]]:
    """'\\n' (the end of the assistant header) -> '<' -> 'answer' -> '>' | '>No'; '>' -> 'Yes' | 'No'."""
    return {"\n": {"<": 0.9}, "<": {"answer": 0.9}, "answer": {">": p_gt, ">No": p_merged_no},
            ">": {"Yes": 0.60, "No": 0.35}}


def exact_p_yes(bigrams, vocab: int) -> float:
    """Closed form over the 16 yes and 26 no tokens: the merged `>No` one step early, the split path after `>`."""
    r_answer, r_gt = uniform_rest(bigrams, "answer", vocab), uniform_rest(bigrams, ">", vocab)
    after_gt = bigrams[">"]
    yes_split = after_gt["Yes"] + 15 * r_gt
    no_split = after_gt["No"] + 25 * r_gt
    p_gt, p_merged_no = bigrams["answer"][">"], bigrams["answer"][">No"]
    yes = p_gt * yes_split
    no = p_merged_no + p_gt * no_split
    assert r_answer < 1e-6  # no other yes/no token at the merged position carries mass worth counting
    return yes / (yes + no)


@pytest.fixture(scope="module")
def rig_gt_first(tmp_path_factory):
    """Greedy writes `<` `answer` `>` (P(>) = 0.60 > P(>No) = 0.35)."""
    bigrams = chain(0.60, 0.35)
    return rig(bigrams, tmp_path_factory.mktemp("rig") / "gt"), bigrams


@pytest.fixture(scope="module")
def rig_merged_first(tmp_path_factory):
    """Greedy writes `<` `answer` `>No`: the model itself emits the merged token."""
    bigrams = chain(0.35, 0.60)
    return rig(bigrams, tmp_path_factory.mktemp("rig") / "merged"), bigrams


def _answerers(path):
    return [TransformersAnswerer(path, video_config=VC, max_new_tokens=6),
            TransformersAnswerer(path, video_config=VC, max_new_tokens=6, shared_prefix=False)]


def test_direct_mode_reads_the_exact_marginal(rig_gt_first, red_video):
    path, bigrams = rig_gt_first
    clip = load_video(red_video, VC)
    for answerer in _answerers(path):
        want = exact_p_yes(bigrams, answerer.model.config.text_config.vocab_size)
        assert want == pytest.approx(0.391, abs=1e-3)
        got = [a.p_yes for a in answerer.answer(clip, QUESTIONS)]
        assert got == pytest.approx([want] * len(QUESTIONS), abs=1e-5)


def test_reason_mode_reads_the_slot_the_model_wrote(rig_gt_first, rig_merged_first, red_video):
    clip = load_video(red_video, VC)
    for path, bigrams in (rig_gt_first, rig_merged_first):
        for answerer in _answerers(path):
            want = exact_p_yes(bigrams, answerer.model.config.text_config.vocab_size)
            out = answerer.answer(clip, QUESTIONS, reason=True)
            for a in out:
                assert a.output.endswith(("<answer>", "<answer>No")), a.output  # greedy wrote the tag ...
                assert not a.forced, a.output  # ... so nothing was appended: on both rigs, both paths
                assert a.p_yes == pytest.approx(want, abs=1e-5)
    assert exact_p_yes(rig_merged_first[1], 151_665) < 0.3  # the two rigs differ: the test can tell them apart


def test_a_forced_slot_reads_what_a_written_tag_would(rig_gt_first, red_video, tmp_path):
    """A model that never writes `<answer>` (it repeats `Hello`): reason mode appends the tag, and the slot then
    reads the rows after `answer` and `>`, the same rows as on the rig that writes the tag: the same exact p_yes."""
    _, written = rig_gt_first
    never = {"\n": {"Hello": 0.95}, "Hello": {"Hello": 0.95}, "answer": written["answer"], ">": written[">"]}
    path = rig(never, tmp_path / "never")
    clip = load_video(red_video, VC)
    for answerer in _answerers(path):
        want = exact_p_yes(never, answerer.model.config.text_config.vocab_size)
        assert want == pytest.approx(exact_p_yes(written, answerer.model.config.text_config.vocab_size))
        out = answerer.answer(clip, QUESTIONS[:2], reason=True)
        for a in out:
            assert a.forced and a.output.startswith("Hello") and "<answer" not in a.output, a.output
            assert a.p_yes == pytest.approx(want, abs=1e-5)


def test_score_command_reports_the_exact_p_yes(rig_gt_first, red_video, tmp_path):
    path, bigrams = rig_gt_first
    questions = tmp_path / "q.json"
    questions.write_text(json.dumps({"prompt": "a red square", "questions": [q.model_dump() for q in QUESTIONS]}))
    r = CliRunner().invoke(app, ["score", str(red_video), "--questions", str(questions), "--model", str(path),
                                 "--size", "112", "--json"])
    assert r.exit_code == 0, r.output
    got = [q["p_yes"] for q in json.loads(r.stdout)["questions"]]
    assert got == pytest.approx([exact_p_yes(bigrams, 151_665)] * len(QUESTIONS), abs=1e-5)


def test_slot_keeps_the_generated_ids(rig_gt_first):
    """A slot is the model's own ids (non-canonical splits included), cut before `>` / `>No`, plus `>`."""
    answerer = _answerers(rig_gt_first[0])[0]
    tok = answerer.tokenizer
    ids = lambda text: tok(text, add_special_tokens=False)["input_ids"]  # noqa: E731
    non_canonical = ids("re") + ids("ason")  # "reason" is one token when encoded as text
    assert ids("reason") != non_canonical
    gt = answerer.slot.last
    for tail in (ids("<answer>"), ids("<answer>No")):
        generated = non_canonical + tail
        assert answerer._slot_ids(generated) == (non_canonical + ids("<answer") + [gt], False)
    assert answerer._slot_ids(non_canonical) == (non_canonical + ids("<answer>"), True)  # forced: appended


def test_a_vocabulary_with_the_whole_tag_as_one_token():
    """A checkpoint that added `<answer>` as a token: no merged path, the slot ends at the model's own tag."""
    from fingereval.answer.tokens import answer_slot
    from fingereval.tiny.vocab import qwen_tokenizer

    tok = qwen_tokenizer()
    tok.add_tokens(["<answer>"])
    answerer = TransformersAnswerer.__new__(TransformersAnswerer)
    answerer.tokenizer, answerer.slot = tok, answer_slot(tok, "<answer>")
    tag = tok.convert_tokens_to_ids("<answer>")
    assert answerer.slot.last == tag and answerer.slot.merged_no == answerer.slot.merged_yes == ()
    reason = tok("because", add_special_tokens=False)["input_ids"]
    no = tok("No", add_special_tokens=False)["input_ids"]
    assert answerer._slot_ids(reason + [tag] + no) == (reason + [tag], False)
    assert answerer._slot_ids(reason) == (reason + [tag], True)
