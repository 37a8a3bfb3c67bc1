"""SFT: labels on the assistant turn only, the video in every batch, loss goes down, answers change."""
from __future__ import annotations

import json
import math

import pytest
import torch
from typer.testing import CliRunner

from fingereval.answer.format import ANSWER_OPEN, target_text, user_text
from fingereval.answer.inputs import VIDEO_PAD, chat_text
from fingereval.answer.transformers_backend import TransformersAnswerer, load_model_and_processor
from fingereval.data.instruct import InstructRecord, load_instruct, write_instruct
from fingereval.schema import Question
from fingereval.train.collate import END_OF_TURN, IGNORE_INDEX, PackedSFTCollator, SFTCollator, padded_batch, video_groups
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
def test_training_ids_are_the_tokenizers_ids_of_the_whole_text(records, processor, reason):
    """Targets are tokenised as one text, as TRL would: on Qwen's vocabulary a "no" answer trains the merged
    `>No` right after `answer`, a "yes" answer `>` then `Yes`; the answerer reads both paths exactly."""
    rows = training_rows(records)
    batch = SFTCollator(processor, ClipCache(VIDEO), reason=reason)(rows)
    tokenizer = processor.tokenizer
    n_video = int((batch["input_ids"][0] == tokenizer.convert_tokens_to_ids(VIDEO_PAD)).sum())
    for i, row in enumerate(rows):
        target = target_text(row["answer"], row["reason"] if reason else None) + "<|im_end|>"
        text = chat_text(processor, user_text(row["question"]), target).replace(VIDEO_PAD, VIDEO_PAD * n_video, 1)
        whole = tokenizer(text, add_special_tokens=False)["input_ids"]
        ids = batch["input_ids"][i].tolist()
        assert ids[:len(whole)] == whole
        slot = tokenizer(text[:text.rindex(ANSWER_OPEN) + len("<answer")], add_special_tokens=False)["input_ids"]
        after = tokenizer.convert_ids_to_tokens(ids[len(slot):len(slot) + 2])
        assert after == ([">", "Yes"] if row["answer"] == "yes" else [">No", "</"])
        assert batch["labels"][i, len(slot)] == ids[len(slot)]  # the answer's first token is trained


def _log_odds(model_dir, records) -> list[float]:
    """log(p_yes / (1 - p_yes)) of each record's question about its video, read by the answerer (direct mode)."""
    answerer = TransformersAnswerer(model_dir, video_config=VIDEO)
    out = []
    for r in records:
        q = Question(id="q", dimension=r["dimension"], text=r["question"], good_answer=r["good_answer"])
        p = answerer.answer(load_video(r["video"], VIDEO), [q], reason=False)[0].p_yes
        out.append(math.log(p / (1 - p)))
    return out


@pytest.fixture(scope="module")
def direct_runs(tiny_model_dir, records, tmp_path_factory) -> dict:
    """The module's SFT runs on `<answer>..</answer>` targets: packed (one row per video) and one row per question,
    4 epochs of the four records in batches of two."""
    from fingereval.train import train_sft

    tmp = tmp_path_factory.mktemp("sft")
    return {pack: train_sft(records, tiny_model_dir, tmp / f"sft-{pack}", reason=False, lora=False, epochs=4,
                            lr=2e-3, batch_size=2, video_config=VIDEO, log_every=1, pack=pack)
            for pack in (True, False)}


def test_sft_packed_and_per_question_both_lower_the_loss(direct_runs):
    for pack, result in direct_runs.items():
        losses = result.logged("loss")
        # from about ln(151,665) = 11.9 nats (Qwen's vocabulary, random weights); the first step runs at lr 0
        steps = 4 if pack else 8  # 4 epochs of two videos or four questions, two rows a step
        assert len(losses) == steps and losses[-1] < losses[0] - 1.5, (pack, losses)
        settings = json.loads((result.out_dir / "train_log.json").read_text())["settings"]
        assert settings["packed"] is pack and settings["videos"] == 2


def test_sft_moves_the_answers_toward_the_labels(tiny_model_dir, records, direct_runs):
    """Each question is asked of both videos, yes on the red moving one and no on the blue still one. Before
    training the random model puts them in the wrong order; after it the yes video's log-odds are the higher,
    for both questions: the labels and the video reached the step (without the video the two would stay equal)."""
    labels = [r["answer"] for r in records]
    assert labels == ["yes", "yes", "no", "no"] and records[0]["question"] == records[2]["question"]

    def gaps(log_odds):  # yes video minus no video, per question
        return [log_odds[0] - log_odds[2], log_odds[1] - log_odds[3]]

    before = gaps(_log_odds(tiny_model_dir, records))
    for pack, result in direct_runs.items():
        after = gaps(_log_odds(result.out_dir, records))  # loads through the answerer
        assert all(a > b + 0.1 for a, b in zip(after, before)), (pack, before, after)  # the move (0.4-0.5); the gap itself ends near 0 (+0.02 on CI)


def test_cli_sft_with_lora_merges_the_adapter(tiny_model_dir, records, tmp_path):
    from fingereval.cli.train import train_app

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


def test_full_sft_with_a_frozen_vision_tower_trains_the_language_model_only(tiny_model_dir, records, tmp_path):
    from fingereval.cli.train import train_app

    data = write_instruct(tmp_path / "qa.jsonl", [InstructRecord.model_validate(r) for r in records])
    out = tmp_path / "frozen"
    result = CliRunner().invoke(train_app, ["sft", "--data", str(data), "--model", str(tiny_model_dir), "--out", str(out),
                                            "--full", "--freeze-vision", "--epochs", "2", "--batch-size", "1", "--lr", "2e-3",
                                            "--size", "112", "--max-frames", "4", "--log-every", "1"])
    assert result.exit_code == 0, result.output
    trained = dict(load_model_and_processor(out)[0].named_parameters())
    start = dict(load_model_and_processor(tiny_model_dir)[0].named_parameters())
    visual = [n for n in start if n.startswith("model.visual.")]
    assert visual and all(torch.equal(trained[n], start[n]) for n in visual)  # tower and merger untouched
    lm = "model.language_model.layers.0.mlp.down_proj.weight"
    assert not torch.equal(trained[lm], start[lm])
    log = json.loads((out / "train_log.json").read_text())
    assert log["settings"]["freeze_vision"] is True and log["settings"]["reason"] is True
    losses = [e["loss"] for e in log["log_history"] if "loss" in e]
    assert len(losses) == 4 and losses[-1] < losses[0] - 0.5, losses  # trained on <think>reason</think><answer>..</answer>


def test_cli_sft_reports_a_missing_data_file(tiny_model_dir, tmp_path):
    from fingereval.cli.train import train_app

    result = CliRunner().invoke(train_app, ["sft", "--data", str(tmp_path / "nope.jsonl"), "--model", str(tiny_model_dir),
                                            "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "not found" in result.output


# ---- packed rows: one video, all its questions, laid out as shared-prefix scoring reads it ----

@pytest.mark.parametrize("reason", [True, False])
def test_packed_rows_train_each_question_on_its_own_assistant_turn(tiny_model_dir, records, processor, reason):
    groups = video_groups(training_rows(records))
    assert [len(g["items"]) for g in groups] == [2, 2]
    rope_index = load_model_and_processor(tiny_model_dir)[0].model.get_rope_index
    batch = PackedSFTCollator(processor, ClipCache(VIDEO), reason=reason, rope_index=rope_index)(groups)
    video_id = processor.tokenizer.convert_tokens_to_ids(VIDEO_PAD)
    for i, group in enumerate(groups):
        ids, labels = batch["input_ids"][i], batch["labels"][i]
        assert int((ids == video_id).sum()) == int(batch["video_grid_thw"][i].prod()) // 4  # the video once per row
        trained = (labels != IGNORE_INDEX).int()
        starts = ((trained[1:] - trained[:-1]) == 1).nonzero().flatten() + 1
        ends = ((trained[1:] - trained[:-1]) == -1).nonzero().flatten() + 1
        assert len(starts) == len(group["items"])  # one trained span per question ...
        for start, end, item in zip(starts, ends, group["items"]):
            want = target_text(item["answer"], item["reason"] if reason else None) + END_OF_TURN
            assert processor.tokenizer.decode(labels[start:end]) == want  # ... exactly its assistant turn
        mask = batch["attention_mask"][i, 0]
        video = (ids == video_id).nonzero().flatten()
        second = int(starts[1])  # the second answer sees the whole video, and nothing of the first question's turn
        assert mask[second, video].all() and not mask[second, int(starts[0]):int(ends[0])].any()
        # and its positions continue from the prefix as if the first question were not there
        assert batch["position_ids"][0, i, second] - batch["position_ids"][0, i, int(starts[0])] < second - int(starts[0])


def test_packed_training_forward_gives_the_answerers_p_yes(tiny_model_dir, records):
    """The packed layout is the scoring layout: its logits at each answer slot are what the answerer reads."""
    answerer = TransformersAnswerer(tiny_model_dir, video_config=VIDEO)
    groups = video_groups(training_rows(records))
    collator = PackedSFTCollator(answerer.processor, ClipCache(VIDEO), reason=False,
                                 rope_index=answerer.model.model.get_rope_index)
    batch = collator(groups)
    with torch.no_grad():
        logits = answerer.model(**{k: v for k, v in batch.items() if k != "labels"}).logits
    slot = answerer.slot
    answer_id, open_id = (answerer.tokenizer.convert_tokens_to_ids(t) for t in ("answer", "<"))
    checked_yes = 0
    for i, group in enumerate(groups):
        ids, labels = batch["input_ids"][i], batch["labels"][i]
        # each question's first trained answer token follows its `answer`: `>` (yes) or the merged `>No`
        firsts = [j for j in range(2, len(ids))
                  if (int(ids[j - 2]), int(ids[j - 1])) == (open_id, answer_id) and int(labels[j]) != -100]
        assert len(firsts) == len(group["items"])
        logp = torch.log_softmax(logits[i].double(), dim=-1)
        users = [user_text(it["question"]) for it in group["items"]]
        before, at = answerer.slot_distributions(load_video(group["video"], VIDEO), users, ["<answer>"] * len(users))
        assert torch.allclose(logp[[j - 1 for j in firsts]], before, atol=1e-4)  # the merged path's row
        for k, j in enumerate(firsts):
            if int(ids[j]) == slot.last:  # a yes answer: the split path's row is in the packed pass too
                assert torch.allclose(logp[j], at[k], atol=1e-4)
                checked_yes += 1
        assert (before[:, slot.last] - before[:, list(slot.merged_no)[0]]).abs().max() > 1e-3  # not a constant model
    assert checked_yes > 0


@pytest.mark.parametrize("pack", [True, False])
def test_length_is_the_collated_width_less_the_video_tokens(tiny_model_dir, records, processor, pack):
    rows = training_rows(records)
    if pack:
        rope_index = load_model_and_processor(tiny_model_dir)[0].model.get_rope_index
        collator, rows = PackedSFTCollator(processor, ClipCache(VIDEO), reason=True, rope_index=rope_index), video_groups(rows)
    else:
        collator = SFTCollator(processor, ClipCache(VIDEO), reason=True)
    video_id = processor.tokenizer.convert_tokens_to_ids(VIDEO_PAD)
    for row in rows:
        ids = collator([row])["input_ids"][0]
        assert collator.length(row) == len(ids) - int((ids == video_id).sum())
    assert len({collator.length(r) for r in rows}) > 1  # the rows do differ in length


def test_micro_batches_take_the_same_step_as_one_batch(tiny_model_dir, records, tmp_path, monkeypatch):
    """Length-sorted micro-batches change the padding, not the step: the same gradient reaches the optimiser."""
    from transformers import TrainerCallback

    import fingereval.train.sft as sft

    grads = []

    class GradAtStep(TrainerCallback):
        def on_pre_optimizer_step(self, args, state, control, model=None, **kwargs):
            grads.append(torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None]).clone())

    rows = [dict(r) for r in records]
    rows[0]["reason"] = " ".join([rows[0]["reason"]] * 6)  # rows far apart in length: the step must weigh tokens
    rich_log = sft.use_rich_log
    monkeypatch.setattr(sft, "use_rich_log", lambda trainer, name: (rich_log(trainer, name), trainer.add_callback(GradAtStep())))
    for micro in (1, 2):
        sft.train_sft(rows, tiny_model_dir, tmp_path / f"mb{micro}", reason=True, lora=False, epochs=1, lr=1e-3,
                      batch_size=4, video_config=VIDEO, log_every=1, pack=False, micro_batches=micro)
    assert len(grads) == 2  # one optimiser step each, over the same four rows
    one, two = grads
    assert one.norm() > 0 and torch.allclose(two.norm(), one.norm(), rtol=1e-3)
    assert torch.nn.functional.cosine_similarity(one, two, dim=0) > 0.9999
    with pytest.raises(ValueError, match="micro_batches must divide"):
        sft.train_sft(records, tiny_model_dir, tmp_path / "bad", batch_size=4, micro_batches=3, video_config=VIDEO)


def test_cli_sft_refuses_micro_batches_that_do_not_divide_the_batch(tiny_model_dir, records, tmp_path):
    from fingereval.cli.train import train_app

    data = write_instruct(tmp_path / "qa.jsonl", [InstructRecord.model_validate(r) for r in records])
    result = CliRunner().invoke(train_app, ["sft", "--data", str(data), "--model", str(tiny_model_dir), "--out",
                                            str(tmp_path / "o"), "--batch-size", "4", "--micro-batches", "3"])
    assert result.exit_code == 2
    assert "--micro-batches (3) must divide --batch-size (4)" in result.output
    assert not (tmp_path / "o").exists()


def test_cli_sft_says_when_packing_falls_back_because_attention_is_not_sdpa(tiny_model_dir, records, tmp_path):
    import shutil

    from fingereval.cli.train import train_app

    eager = shutil.copytree(tiny_model_dir, tmp_path / "eager")
    config = json.loads((eager / "config.json").read_text())
    (eager / "config.json").write_text(json.dumps({**config, "attn_implementation": "eager"}))  # how a checkpoint asks
    data = write_instruct(tmp_path / "qa.jsonl", [InstructRecord.model_validate(r) for r in records])
    out = tmp_path / "o"
    result = CliRunner().invoke(train_app, ["sft", "--data", str(data), "--model", str(eager), "--out", str(out),
                                            "--full", "--no-reason", "--epochs", "1", "--size", "112", "--max-frames", "4"])
    assert result.exit_code == 0, result.output
    said = [line for line in result.output.splitlines() if "packing asked" in line]
    assert len(said) == 1, result.output  # one line: what was asked, what is used, how to get packing
    assert said[0].startswith("packing asked (--pack)") and "eager attention" in said[0]
    assert "one question per row" in said[0] and '"attn_implementation": "sdpa"' in said[0] and "--no-pack" in said[0]
    settings = json.loads((out / "train_log.json").read_text())["settings"]
    assert settings["packed"] is False and settings["attention"] == "eager"


@pytest.mark.parametrize("lora", [True, False], ids=["lora", "full"])
def test_gradient_checkpointing_recomputes_every_layer_and_takes_the_same_step(tiny_model_dir, records, tmp_path,
                                                                                monkeypatch, lora):
    """One packed SFT step (two videos) with `train sft --gradient-checkpointing` and one without, from the same start.
    With it, each decoder layer's body runs twice in the step (the forward, then again in the backward, where its
    activations are recomputed instead of kept); without, once. The step is the same: equal weights after it, and
    different from the start (with LoRA the gradient must reach the adapters through the recomputed layers)."""
    import re

    from fingereval.cli.train import train_app
    import fingereval.train.sft as sft

    runs: dict[str, dict[str, int]] = {}

    def count_layer_bodies(trainer, name):
        # a hook on entering each layer's MLP, which runs inside the checkpointed layer forward (a post-forward hook
        # would miss the recomputation: torch stops it early, once the last saved tensor the backward needs is made)
        calls = runs.setdefault(str(trainer.args.output_dir), {})
        for module_name, module in trainer.model.named_modules():
            if re.search(r"language_model\.layers\.\d+\.mlp$", module_name):
                calls[module_name] = 0
                module.register_forward_pre_hook(lambda m, i, key=module_name: calls.__setitem__(key, calls[key] + 1))
        rich_log(trainer, name)

    rich_log = sft.use_rich_log
    monkeypatch.setattr(sft, "use_rich_log", count_layer_bodies)
    data = write_instruct(tmp_path / "qa.jsonl", [InstructRecord.model_validate(r) for r in records])
    step = ["--epochs", "1", "--batch-size", "2", "--lr", "1e-3", "--warmup", "0", "--schedule", "constant",
            "--no-reason", "--lora" if lora else "--full", "--lora-rank", "4", "--size", "112", "--max-frames", "4",
            "--log-every", "1"]
    outs = {flag: tmp_path / flag.strip("-") for flag in ("--gradient-checkpointing", "--no-gradient-checkpointing")}
    for flag, out in outs.items():
        result = CliRunner().invoke(train_app, ["sft", "--data", str(data), "--model", str(tiny_model_dir), "--out",
                                                str(out), flag, *step])
        assert result.exit_code == 0, result.output
    with_gc, without = (runs[str(out)] for out in outs.values())
    n_layers = load_model_and_processor(tiny_model_dir)[0].config.text_config.num_hidden_layers
    assert len(without) == n_layers and set(without.values()) == {1}, without  # one forward: the step's one batch
    assert with_gc.keys() == without.keys() and set(with_gc.values()) == {2}, with_gc  # ... and its recomputation

    logs = {flag: json.loads((out / "train_log.json").read_text()) for flag, out in outs.items()}
    assert logs["--gradient-checkpointing"]["settings"]["gradient_checkpointing"] is True
    assert logs["--no-gradient-checkpointing"]["settings"]["gradient_checkpointing"] is False
    norms = [[e["grad_norm"] for e in log["log_history"] if "grad_norm" in e] for log in logs.values()]
    assert len(norms[0]) == 1 and norms[0] == pytest.approx(norms[1], rel=1e-5)  # one step each, the same gradient
    start = dict(load_model_and_processor(tiny_model_dir)[0].named_parameters())
    after = [dict(load_model_and_processor(out)[0].named_parameters()) for out in outs.values()]
    moved = 0
    for name, w0 in start.items():
        a, b = after[0][name].detach(), after[1][name].detach()
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-7), (name, (a - b).abs().max())
        moved += bool((a - w0).abs().max() > 1e-5)  # one step at lr 1e-3 moves a trained weight by about 1e-3
    trained_lm = sum(1 for name in start if re.search(r"language_model\.layers\.\d+\.(self_attn|mlp)\.\w+_proj\.weight$", name))
    assert moved >= trained_lm, (moved, trained_lm)  # every targeted projection moved (LoRA: through its merged adapter)
