"""benchmarks/training_table.py's measures on hand-made answers: paired differences, reason checks, the table."""
from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "training_table.py"


@pytest.fixture(scope="module")
def table():
    spec = importlib.util.spec_from_file_location("training_table", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _record(form: str, question: str, reason: str, answer: str):
    return SimpleNamespace(form=form, question=question, reason=reason, answer=answer)


def test_reasons_are_judged_against_the_plan_and_against_their_own_answer(table):
    q = "Does the white ball appear in the video?"
    truth = _record("appear", q, "Colour white vs green. There is no white ball: ...", "no")
    # the demo model's contradiction: it saw white drawn and answered no
    said = table.judge_reason(truth, "no", "<think>Colour white vs white. There is no white ball.</think><answer>No</answer>")
    assert said["well_formed"] and said["contradicts"] and not said["finding_right"] and not said["no_finding"]
    right = table.judge_reason(truth, "no", "<think>Colour white vs green. There is no white ball.</think><answer>No</answer>")
    assert right["finding_right"] and not right["contradicts"]
    caption = table.judge_reason(truth, "yes", "Colour green. Shape star sharp. Look steady.")
    assert caption["no_finding"] and not caption["contradicts"] and not caption["well_formed"]
    assert caption["caption_like"] and not right["caption_like"] and not said["caption_like"]
    # a caption states a finding without opening with it: stated, not right
    blurred = _record("blur", "Are the ball's edges sharp?", "Edges blurred. The outline is soft.", "no")
    described = table.judge_reason(blurred, "yes", "<think>Colour red. Shape ball. Edges blurred. Texture clean."
                                                   "</think><answer>Yes</answer>")
    assert described["finding_stated"] and not described["finding_right"] and described["caption_like"]
    assert not table.judge_reason(blurred, "yes", "<think>Colour red. Edges sharp.</think>")["finding_stated"]
    assert table.judge_reason(truth, "yes", None) == {"well_formed": None, "finding_right": None, "contradicts": None,
                                                      "no_finding": None, "caption_like": None, "finding_stated": None}


def test_paired_difference_uses_the_same_questions_and_resamples_videos(table):
    # 4 videos x 2 questions; row a gets 6 of 8 right, row b 3 of 8, on the same ids
    a_hits = [1, 1, 1, 0, 1, 1, 0, 1]
    b_hits = [0, 1, 0, 0, 1, 0, 0, 1]
    rows_a = [{"seed": 0, "id": f"q{i}", "cluster": f"v{i // 2}", "hit": bool(h), "tier": "hard" if i < 4 else "plain"}
              for i, h in enumerate(a_hits)]
    rows_b = [dict(r, hit=bool(h)) for r, h in zip(rows_a, b_hits)]
    rows_b.insert(0, {"seed": 1, "id": "q0", "cluster": "v0", "hit": True, "tier": "hard"})  # no partner in a: left out
    out = table.paired(rows_a, rows_b, n_resamples=400)
    assert out["n"] == 8 and out["difference"] == pytest.approx(3 / 8, abs=1e-4)
    assert out["ci95"][0] <= out["difference"] <= out["ci95"][1]
    # per video the differences are 1, 0, 0.5, 0 (in sums of two): no resample of videos can exceed 3/4
    assert out["ci95"][1] <= 0.75 + 1e-9 and out["ci95"][0] >= 0.0
    hard = table.paired(rows_a, rows_b, n_resamples=200, keep=lambda r: r["tier"] == "hard")
    assert hard["n"] == 4 and hard["difference"] == pytest.approx(2 / 4, abs=1e-4)


def test_row_report_counts_the_hard_tier_and_shares_of_reasons(table):
    rows = [{"seed": s, "id": f"q{i}", "cluster": f"v{i}", "dimension": "text_alignment" if i % 2 else "visual_quality",
             "tier": "hard" if i < 3 else "plain", "hit": i % 3 != 0, "well_formed": True, "finding_right": i < 5,
             "contradicts": i == 0, "no_finding": False, "reason": "x"} for s in (0, 1) for i in range(6)]
    report = table.row_report(rows, n_resamples=200)
    assert report["n"] == 12 and report["accuracy"] == pytest.approx(8 / 12, abs=1e-4)
    assert report["hard"]["n"] == 6 and report["hard"]["accuracy"] == pytest.approx(4 / 6, abs=1e-4)
    assert report["per_dimension"]["text_alignment"]["accuracy"] == pytest.approx(4 / 6, abs=1e-4)
    assert report["finding_right"] == pytest.approx(10 / 12, abs=1e-4)
    assert report["finding_contradicts_answer"] == pytest.approx(2 / 12, abs=1e-4)
    assert report["per_seed"] == {"0": pytest.approx(4 / 6, abs=1e-4), "1": pytest.approx(4 / 6, abs=1e-4)}
    text = table.markdown({"rows": {"sft_reason": report}, "paired": {}})
    assert "| SFT with reasons | 66.7% [" in text


def test_format_is_read_on_the_output_the_answerer_reports(table):
    """The answerer stops generating at the answer slot (StopRule on '<answer>') and reads the word there, so
    its reported output ends with '<answer>': a well-formed reason must count as well formed (it read 0 %)."""
    from fingereval.answer.stopping import StopRule

    stop = StopRule("<answer>", end_of_turn=(), tokenizer=None, max_new_tokens=80)
    q = "Does the white ball appear in the video?"
    truth = _record("appear", q, "Colour white vs green. There is no white ball: ...", "no")
    reported = stop.cut_text("<think>Colour white vs green. There is no white ball.</think><answer>No</answer>")
    assert reported.endswith("<answer>")
    judged = table.judge_reason(truth, "no", reported)
    assert judged["well_formed"] and judged["finding_right"] and not judged["contradicts"]
    # a model that never wrote the slot (forced) or wrote no think tags is not well formed
    assert not table.judge_reason(truth, "no", stop.cut_text("<think>Colour white vs green.</think>"))["well_formed"]
    assert not table.judge_reason(truth, "no", stop.cut_text("Colour white vs green.<answer>No"))["well_formed"]


def test_grpo_on_unseen_questions_takes_the_held_out_videos_that_are_not_measured(table, tmp_path):
    """`--grpo-data unseen`: GRPO's questions are those of every held-out video after the measured ones (the first
    --eval-videos), so GRPO never trains on a measured video nor on SFT's training questions."""
    import json

    def line(video: int, q: int, tier: str) -> str:
        return json.dumps({"video": f"videos/v{video}.mp4", "prompt": "A red ball.", "dimension": "text_alignment",
                           "question": "Does the red ball appear?", "good_answer": "yes", "answer": "yes",
                           "id": f"v{video}-q{q}", "video_id": f"v{video}", "form": "appear", "tier": tier})
    # held out: videos 10..14, two questions each, the first of each hard; training: video 0
    held = [line(v, q, "hard" if q == 0 else "plain") for v in range(10, 15) for q in range(2)]
    (tmp_path / "qa_heldout.jsonl").write_text("\n".join(held) + "\n")
    (tmp_path / "qa_train.jsonl").write_text(line(0, 0, "hard") + "\n")
    measured = {r.id for r in table.held_out_records(tmp_path, 2)}
    assert measured == {"v10-q0", "v10-q1", "v11-q0", "v11-q1"}
    unseen = table.load_instruct(table.tier_file(tmp_path, "all", "unseen", 2))
    assert [r.id for r in unseen] == [f"v{v}-q{q}" for v in (12, 13, 14) for q in (0, 1)]
    assert all(r.video.endswith(f"videos/{r.video_id}.mp4") for r in unseen)  # paths still resolve to the videos
    hard = table.load_instruct(table.tier_file(tmp_path, "hard", "unseen", 2))
    assert [r.id for r in hard] == ["v12-q0", "v13-q0", "v14-q0"]
    assert table.tier_file(tmp_path, "all") == tmp_path / "qa_train.jsonl"  # the default: SFT's training file


def test_a_caption_states_every_finding_and_a_reason_one():
    """Caption-like reasons (the paper's Zero-GRPO): a scene caption states all nine findings, a probe reason one."""
    from fingereval.probes.questions import findings_stated
    from fingereval.probes.scene import scene_caption

    caption = scene_caption(["colour:red", "shape:ball", "blur", "moves_left"])
    assert caption.startswith("Colour red. Shape ball. Edges blurred.") and findings_stated(caption) == 9
    assert findings_stated("Edges blurred. The ball's outline is soft in every frame.") == 1
    assert findings_stated("Colour white vs green. There is no white ball: the ball is green.") == 1
    assert findings_stated("Edges sharp. Texture clean. Heading left.") == 3
    assert findings_stated("") == 0 and findings_stated(None) == 0


def test_the_instruct_stage_keeps_questions_writes_captions_and_flips_coins(tmp_path):
    """fingereval.tiny.align.instruct_records: every training question once, its reason the caption of its own
    video, its answer a seeded coin flip that does not follow the truth (here every true answer is yes)."""
    import json

    from fingereval.data.instruct import load_instruct
    from fingereval.probes.scene import scene_caption
    from fingereval.tiny.align import instruct_records

    labels = {f"v{i}": ["colour:red" if i % 2 else "colour:blue", "shape:ball", "flicker" if i % 3 else "static"]
              for i in range(40)}
    (tmp_path / "scenes.jsonl").write_text("".join(
        json.dumps({"video_id": v, "video": f"videos/{v}.mp4", "labels": ls}) + "\n" for v, ls in labels.items()))
    (tmp_path / "qa_heldout.jsonl").write_text("")
    (tmp_path / "qa_train.jsonl").write_text("".join(
        json.dumps({"video": f"videos/{v}.mp4", "prompt": "A ball.", "dimension": "visual_quality",
                    "question": f"Question {q}?", "good_answer": "yes", "answer": "yes", "reason": "Edges sharp. x",
                    "id": f"{v}-q{q}", "video_id": v}) + "\n" for v in labels for q in range(5)))
    truth = load_instruct(tmp_path / "qa_train.jsonl")
    made = instruct_records(tmp_path, seed=3)
    assert [(r.id, r.question, r.prompt) for r in made] == [(r.id, r.question, r.prompt) for r in truth]
    assert all(r.reason == scene_caption(labels[r.video_id]) for r in made)
    yes = sum(r.answer == "yes" for r in made)
    assert 60 <= yes <= 140  # 200 fair coins: 100 +- 40 is beyond 5 standard deviations
    assert [r.answer for r in instruct_records(tmp_path, seed=3)] == [r.answer for r in made]
    assert [r.answer for r in instruct_records(tmp_path, seed=4)] != [r.answer for r in made]


def test_answers_cached_before_the_caption_columns_are_judged_on_the_reason_they_kept(table):
    record = _record("blur", "Are the ball's edges sharp?", "Edges blurred. The outline is soft.", "no")
    old = {"id": "q1", "no_finding": True, "reason": "Colour red. Shape ball. Edges blurred. Texture clean."}
    filled = table._backfill(old, record)
    assert filled["caption_like"] and filled["finding_stated"] and filled["reason"] == old["reason"]
    assert table._backfill(dict(old, caption_like=False), record)["caption_like"] is False  # judged before: kept
    answer_only = {"id": "q1", "no_finding": None}
    assert table._backfill(answer_only, record) == answer_only
