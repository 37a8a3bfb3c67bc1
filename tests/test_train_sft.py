"""SFT: labels on the assistant turn only, the video in every batch, loss goes down, answers change."""
from __future__ import annotations

import pytest
import torch
from typer.testing import CliRunner

from fingereval.answer.format import ANSWER_OPEN, assistant_prefix, target_text, user_text
from fingereval.answer.inputs import VIDEO_PAD, chat_text
from fingereval.answer.tokens import yes_no_token_ids
from fingereval.answer.transformers_backend import TransformersAnswerer, load_model_and_processor
from fingereval.data.instruct import InstructRecord, load_instruct, write_instruct
from fingereval.schema import Question
from fingereval.train.collate import END_OF_TURN, IGNORE_INDEX, SFTCollator, padded_batch
from fingereval.train.examples import ClipCache, training_rows
from fingereval.video import VideoConfig, load_video

VIDEO = VideoConfig(size=112, max_frames=4)  # the same at training and at scoring


def _records(red_video, blue_static_video) -> list[dict]:
    """Questions whose answers depend on which video is shown."""
    rows = []
    for path, moving, colour in ((red_video, True, "red"), (blue_static_video, False, "blue")):
        rows += [
            {"video": str(path), "prompt": "a square", "dimension": "dynamic_degree", "question": "Does the square move?",
             "good_answer": "yes", "answer": "yes" if moving else "no",
             "reason": "The square slides to the right." if moving else "The square stays in one place."},
            {"video": str(path), "prompt": "a square", "dimension": "text_alignment", "question": "Is the square red?",
             "good_answer": "yes", "answer": "yes" if colour == "red" else "no",
             "reason": f"The square is {colour} in every frame."},
        ]
    return rows


@pytest.fixture(scope="module")
def records(red_video, blue_static_video) -> list[dict]:
    return _records(red_video, blue_static_video)


@pytest.fixture(scope="module")
def processor(tiny_model_dir):
    return load_model_and_processor(tiny_model_dir)[1]


def test_training_rows_from_records_dicts_and_jsonl(records, tmp_path):
    path = write_instruct(tmp_path / "qa.jsonl", [InstructRecord.model_validate(r) for r in records])
    from_file = training_rows(path)
    assert from_file == training_rows(records) == training_rows(load_instruct(path))
    assert from_file[0] == {"video": records[0]["video"], "question": "Does the square move?", "answer": "yes",
                            "reason": "The square slides to the right."}


@pytest.mark.parametrize("reason", [True, False])
def test_labels_cover_exactly_the_assistant_turn_and_the_video_reaches_the_batch(records, processor, reason):
    rows = training_rows(records)[:3]
    rows[2]["reason"] = None  # answer-only fallback for a record without a reason
    batch = SFTCollator(processor, ClipCache(VIDEO), reason=reason)(rows)
    # guards the silent video drop: the processor's video tensors are in the batch ...
    assert {"pixel_values_videos", "video_grid_thw", "second_per_grid_ts", "mm_token_type_ids"} <= set(batch)
    video_id = processor.tokenizer.convert_tokens_to_ids(VIDEO_PAD)
    n_video = (batch["input_ids"] == video_id).sum(dim=1)
    assert (n_video > 1).all()  # ... the placeholder was expanded into the clip's tokens ...
    assert torch.equal((batch["mm_token_type_ids"] == 2).sum(dim=1), n_video)  # ... and typed as video (3-D positions)
    clip = load_video(rows[0]["video"], VIDEO)
    assert torch.allclose(batch["second_per_grid_ts"], torch.full((3,), 2 / clip.fps))  # real fps, not 24
    # guards the zero-loss pitfall: labels are non-zero exactly on the assistant turn
    labels = batch["labels"]
    for i, row in enumerate(rows):
        kept = labels[i][labels[i] != IGNORE_INDEX]
        assert len(kept) > 0
        assert not (kept == video_id).any()
        want = target_text(row["answer"], row["reason"] if reason else None) + END_OF_TURN
        assert processor.tokenizer.decode(kept) == want
        real = batch["attention_mask"][i].bool()
        start = int(real.sum()) - len(kept)
        assert torch.equal(labels[i][real][start:], batch["input_ids"][i][real][start:])
        assert (labels[i][real][:start] == IGNORE_INDEX).all()
        assert (labels[i][~real] == IGNORE_INDEX).all()


def test_clip_cache_decodes_each_video_once_within_its_budget(red_video, blue_static_video):
    cache = ClipCache(VIDEO)
    for _ in range(3):  # three epochs
        assert cache(red_video) is cache(str(red_video))
        cache(blue_static_video)
    assert cache.decoded == 2 and len(cache) == 2
    small = ClipCache(VIDEO, max_bytes=1)  # room for one clip: the other is decoded again when asked for
    small(red_video), small(blue_static_video), small(red_video)
    assert small.decoded == 3 and len(small) == 1


def test_padded_batch_masks_prompts_and_padding():
    batch = padded_batch([[5, 6, 7, 8], [5, 6, 9, 7, 8, 4]], [2, 3], pad_id=0)
    assert batch["input_ids"].tolist() == [[5, 6, 7, 8, 0, 0], [5, 6, 9, 7, 8, 4]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]]
    assert batch["labels"].tolist() == [[-100, -100, 7, 8, -100, -100], [-100, -100, -100, 7, 8, 4]]
    with pytest.raises(ValueError, match="no assistant tokens"):
        padded_batch([[5, 6]], [2], pad_id=0)


@pytest.mark.parametrize("reason", [True, False])
def test_training_ids_at_the_answer_slot_are_the_ids_the_answerer_scores(records, processor, reason):
    """Guards a silent failure: BPE merges `<answer>Yes` into `<answer` + `>Yes`, so a target tokenised in one
    piece never puts `Yes` after the `>` where the answerer reads P(yes); the loss falls, p_yes stays at chance."""
    rows = training_rows(records)
    batch = SFTCollator(processor, ClipCache(VIDEO), reason=reason)(rows)
    tokenizer = processor.tokenizer
    yes_ids, no_ids = yes_no_token_ids(tokenizer)
    n_video = int((batch["input_ids"][0] == tokenizer.convert_tokens_to_ids(VIDEO_PAD)).sum())
    for i, row in enumerate(rows):
        prefix = f"<think>{row['reason']}</think>{ANSWER_OPEN}" if reason else assistant_prefix(False)
        scored = chat_text(processor, user_text(row["question"]), prefix).replace(VIDEO_PAD, VIDEO_PAD * n_video, 1)
        slot = tokenizer(scored, add_special_tokens=False)["input_ids"]  # what the answerer feeds the model
        ids = batch["input_ids"][i].tolist()
        assert ids[:len(slot)] == slot
        assert ids[len(slot)] in (yes_ids if row["answer"] == "yes" else no_ids)
        assert batch["labels"][i, len(slot)] == ids[len(slot)]  # the answer word is trained


def _p_yes(model_dir, records) -> list[float]:
    answerer = TransformersAnswerer(model_dir, video_config=VIDEO)
    out = []
    for r in records[:2]:
        clip = load_video(r["video"], VIDEO)
        q = Question(id="q", dimension=r["dimension"], text=r["question"], good_answer=r["good_answer"])
        out.append(answerer.answer(clip, [q], reason=False)[0].p_yes)
    return out


def test_sft_lowers_the_loss_changes_the_answers_and_saves_a_loadable_checkpoint(tiny_model_dir, records, tmp_path):
    from fingereval.train import train_sft

    before = _p_yes(tiny_model_dir, records)
    result = train_sft(records, tiny_model_dir, tmp_path / "sft", reason=True, lora=False, epochs=6, lr=2e-3,
                       batch_size=4, video_config=VIDEO, log_every=1)
    losses = result.logged("loss")
    assert len(losses) == 6
    assert losses[-1] < 0.7 * losses[0], losses
    after = _p_yes(result.out_dir, records)  # loads through the answerer
    assert max(abs(a - b) for a, b in zip(before, after)) > 1e-3, (before, after)
    assert (result.out_dir / "train_log.json").exists()


def test_cli_sft_with_lora_merges_the_adapter(tiny_model_dir, records, tmp_path):
    from fingereval.train.cli import train_app

    data = write_instruct(tmp_path / "qa.jsonl", [InstructRecord.model_validate(r) for r in records])
    out = tmp_path / "lora"
    result = CliRunner().invoke(train_app, ["sft", "--data", str(data), "--model", str(tiny_model_dir), "--out", str(out),
                                            "--lora", "--no-reason", "--epochs", "2", "--lr", "1e-3", "--size", "112",
                                            "--max-frames", "4", "--log-every", "1"])
    assert result.exit_code == 0, result.output
    answerer = TransformersAnswerer(out, video_config=VIDEO)
    names = [n for n, _ in answerer.model.named_parameters()]
    assert not any("lora" in n for n in names)
    base = load_model_and_processor(tiny_model_dir)[0]
    q_proj = "model.language_model.layers.0.self_attn.q_proj.weight"
    visual = "model.visual.blocks.0.mlp.down_proj.weight"
    trained, start = dict(answerer.model.named_parameters()), dict(base.named_parameters())
    assert not torch.equal(trained[q_proj], start[q_proj])  # the merged adapter changed the language model
    assert torch.equal(trained[visual], start[visual])  # and left the vision tower alone


def test_cli_sft_reports_a_missing_data_file(tiny_model_dir, tmp_path):
    from fingereval.train.cli import train_app

    result = CliRunner().invoke(train_app, ["sft", "--data", str(tmp_path / "nope.jsonl"), "--model", str(tiny_model_dir),
                                            "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "not found" in result.output
