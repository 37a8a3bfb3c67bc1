"""GRPO with video: every log-prob forward sees the video, and one step runs end to end."""
from __future__ import annotations

import math

import pytest
import torch

from fingereval.answer.transformers_backend import TransformersAnswerer
from fingereval.video import VideoConfig

VIDEO = VideoConfig(size=112, max_frames=4)
TEMPERATURE = 0.9


def _records(red_video, blue_static_video) -> list[dict]:
    return [
        {"video": str(red_video), "question": "Does the square move?", "answer": "yes", "reason": "It slides right."},
        # a longer question: the two prompts differ in length, so the batch is left-padded
        {"video": str(blue_static_video), "question": "Does the blue square move across the frame at any time?",
         "answer": "no", "reason": "It stays put."},
    ]


def _trainer(model_dir, records, out_dir, group_size: int, max_completion: int, peft_config=None):
    from datasets import Dataset
    from trl import GRPOConfig

    from fingereval.train.checkpoint import load_for_training
    from fingereval.train.examples import ClipCache
    from fingereval.train.grpo import VideoGRPOTrainer, grpo_rows
    from fingereval.train.rewards import accuracy_reward, format_reward

    net, processor, _ = load_for_training(model_dir, "cpu")
    args = GRPOConfig(output_dir=str(out_dir), max_steps=1, num_generations=group_size,
                      per_device_train_batch_size=group_size, max_completion_length=max_completion,
                      temperature=TEMPERATURE, beta=0.04, report_to="none", save_strategy="no", use_cpu=True,
                      bf16=False, activation_checkpointing=False, remove_unused_columns=False, disable_tqdm=True,
                      generation_kwargs={"suppress_tokens": [net.config.image_token_id, net.config.video_token_id]})
    return VideoGRPOTrainer(model=net, reward_funcs=[accuracy_reward, format_reward], args=args,
                            train_dataset=Dataset.from_list(grpo_rows(records, processor)), processing_class=processor,
                            clips=ClipCache(VIDEO), peft_config=peft_config)


def _plain_forward_logps(model, prompt_ids, completion_ids, video: dict | None, video_token_id: int) -> torch.Tensor:
    """Log-probs of the completion tokens from one unpadded forward through the model's own code."""
    from fingereval.answer.inputs import mm_token_type_ids

    ids = torch.tensor([prompt_ids + completion_ids])
    kwargs = {}
    if video is not None:
        kwargs = {k: video[k] for k in ("pixel_values_videos", "video_grid_thw", "second_per_grid_ts")}
        kwargs["mm_token_type_ids"] = mm_token_type_ids(ids, video_token_id)
    model.model.rope_deltas = None
    logits = model(input_ids=ids, attention_mask=torch.ones_like(ids), use_cache=False, **kwargs).logits[0].float()
    logp = torch.log_softmax(logits[:-1] / TEMPERATURE, dim=-1)
    targets = ids[0, 1:]
    return logp.gather(-1, targets[:, None])[:, 0][-len(completion_ids):]


def test_training_logprobs_see_the_video(tiny_model_dir, red_video, blue_static_video, tmp_path):
    from trl import GRPOTrainer

    records = _records(red_video, blue_static_video)
    trainer = _trainer(tiny_model_dir, records, tmp_path / "grpo", group_size=2, max_completion=6)
    rows = [row for row in trainer.train_dataset for _ in range(2)]  # as the sampler groups them
    torch.manual_seed(0)
    batch = trainer._generate_and_score_completions(rows)
    assert len(batch["videos"]) == 4 and "ref_per_token_logps" in batch  # the reference forward ran (with video)

    ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], dim=1)
    mask = torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1)
    n_completion = batch["completion_ids"].size(1)
    model = trainer.model
    with torch.no_grad(), trainer.forwards_see(batch["videos"]):
        trained, _, _ = trainer._get_per_token_logps_and_entropies(model, ids, mask, n_completion, batch_size=3)
        stock, _, _ = GRPOTrainer._get_per_token_logps_and_entropies(trainer, model, ids, mask, n_completion)
    with pytest.raises(RuntimeError, match="without their videos"):  # no silent text-only forward
        trainer._get_per_token_logps_and_entropies(model, ids, mask, n_completion)

    video_id = trainer.video_token_id
    for i, video in enumerate(batch["videos"]):
        prompt = batch["prompt_ids"][i][batch["prompt_mask"][i].bool()].tolist()
        completion = batch["completion_ids"][i][batch["completion_mask"][i].bool()].tolist()
        assert completion and video_id not in completion  # the video token is never sampled
        n = len(completion)
        with torch.no_grad():
            plain = _plain_forward_logps(model, prompt, completion, video, video_id)
            no_video = _plain_forward_logps(model, prompt, completion, None, video_id)
        assert torch.allclose(trained[i, :n], plain, atol=1e-4), (trained[i, :n], plain)
        assert (trained[i, :n] - no_video).abs().max() > 1e-2  # the video matters to these log-probs
        assert (stock[i, :n] - plain).abs().max() > 1e-2  # TRL's own forward (no video) would be wrong
        assert torch.allclose(batch["ref_per_token_logps"][i, :n], plain, atol=1e-4)  # ref = start model, with video


def test_the_fixed_sample_is_seeded_and_never_larger_than_its_source():
    from fingereval.train.grpo import fixed_sample

    rows = [{"i": i} for i in range(50)]
    assert fixed_sample(rows, 8, seed=3) == fixed_sample(rows, 8, seed=3) != fixed_sample(rows, 8, seed=4)
    assert len({r["i"] for r in fixed_sample(rows, 8, seed=3)}) == 8
    assert fixed_sample(rows[:5], 8, seed=3) == rows[:5]


# ---- LoRA and gradient checkpointing ----

# A rigged bigram model (tests/rigged.py) that answers `<answer>Yes</answer>` or `<answer>No</answer>` about evenly
# after the prompt's last token: a group's accuracy rewards then differ, so the advantages and the gradient are not
# zero. (The random tiny model never writes an answer: every reward is 0 and a step changes nothing.)
ANSWERING = {"\n": {"<": 0.99}, "<": {"answer": 0.99}, "answer": {">": 0.99}, ">": {"Yes": 0.495, "No": 0.495},
             "Yes": {"</": 0.99}, "No": {"</": 0.99}, "</": {"answer": 0.99}}
LORA_RANK = 4


@pytest.fixture(scope="module")
def answering_model(tmp_path_factory):
    from rigged import rig

    return rig(ANSWERING, tmp_path_factory.mktemp("answering") / "model")


QUESTIONS, EVAL_QUESTIONS, SEED = 2, 2, 5


def _three_records(red_video, blue_static_video) -> list[dict]:
    return _records(red_video, blue_static_video) + [
        {"video": str(red_video), "question": "Is the square red?", "answer": "yes", "reason": "It is red."}]


@pytest.fixture(scope="module")
def lora_run(answering_model, red_video, blue_static_video, tmp_path_factory):
    """The module's one GRPO run: `train grpo --lora` for two steps from the answering model, on a fixed sample of
    two of three questions, evaluated on the same two before the first step and after the last. Returns the
    checkpoint folder (qa.jsonl beside it) and the rows of the datasets train_grpo built (train, then eval)."""
    from datasets import Dataset
    from typer.testing import CliRunner

    from fingereval.cli.train import train_app
    from fingereval.data.instruct import InstructRecord, write_instruct

    tmp = tmp_path_factory.mktemp("lora")
    records = [InstructRecord.model_validate({**r, "prompt": "a square", "dimension": "dynamic_degree", "good_answer": "yes"})
               for r in _three_records(red_video, blue_static_video)]
    data = write_instruct(tmp / "qa.jsonl", records)
    built, from_list = [], Dataset.from_list

    def spy(rows):  # the trainer's train and eval datasets, in the order train_grpo builds them
        built.append(rows)
        return from_list(rows)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("datasets.Dataset.from_list", spy)
        result = CliRunner().invoke(train_app, [
            "grpo", "--data", str(data), "--model", str(answering_model), "--out", str(tmp / "g"), "--lora",
            "--lora-rank", str(LORA_RANK), "--steps", "2", "--group-size", "4", "--max-completion", "8", "--lr", "1e-3",
            "--questions", str(QUESTIONS), "--eval-data", str(data), "--eval-questions", str(EVAL_QUESTIONS),
            "--seed", str(SEED), "--size", "112", "--max-frames", "4"])
    assert result.exit_code == 0, result.output
    return tmp / "g", built


def test_grpo_steps_on_rewards_that_differ_and_logs_them(lora_run):
    """The answering model says Yes or No about evenly: a group's accuracy rewards differ, so the step has
    a gradient; the reward is the sum of the two reward functions' means, and no completion is well formed
    (the rig writes no <think>), so the format reward is 0."""
    import json

    out, _ = lora_run
    steps = [e for e in json.loads((out / "train_log.json").read_text())["log_history"] if "reward" in e]
    assert len(steps) == 2
    for e in steps:
        assert e["rewards/format_reward/mean"] == 0.0
        assert e["reward"] == pytest.approx(e["rewards/accuracy_reward/mean"] + e["rewards/format_reward/mean"])
        assert 0.0 <= e["rewards/accuracy_reward/mean"] <= 1.0
    assert any(0.0 < e["rewards/accuracy_reward/mean"] < 1.0 and e["reward_std"] > 0 for e in steps), steps
    assert all(e["grad_norm"] > 1e-4 for e in steps)  # a real step each time, not a zero-advantage no-op


def test_grpo_trains_and_evaluates_on_the_same_fixed_questions_before_the_first_step_and_after_the_last(lora_run):
    import json

    out, built = lora_run
    train, held = built
    assert len(train) == QUESTIONS and train == held  # two of the three questions, the same two
    log = json.loads((out / "train_log.json").read_text())
    evals = [e for e in log["log_history"] if "eval_reward" in e]
    assert [e["step"] for e in evals] == [0, 2]  # before training and after the last step
    assert all(e["eval_rewards/format_reward/mean"] == 0.0 for e in evals)
    assert log["settings"]["questions"] == QUESTIONS and log["settings"]["eval_questions"] == EVAL_QUESTIONS


def test_cli_grpo_with_lora_trains_only_the_adapters_and_saves_them_merged(answering_model, lora_run):
    import json
    import re

    lora_run, _ = lora_run

    from fingereval.answer.transformers_backend import load_model_and_processor
    from fingereval.train.sft import LORA_TARGETS

    answerer = TransformersAnswerer(lora_run, video_config=VIDEO)  # loads without PEFT: a plain, merged checkpoint
    assert answerer.model.config.video_token_id == answerer.video_token_id
    trained = {n: p.detach() for n, p in answerer.model.named_parameters()}
    start = {n: p.detach() for n, p in load_model_and_processor(answering_model)[0].named_parameters()}
    assert trained.keys() == start.keys() and not any("lora" in n for n in trained)
    targeted = {n for n in start if re.fullmatch(LORA_TARGETS, n.removesuffix(".weight"))}
    changed = {n for n in start if not torch.equal(start[n], trained[n])}
    # the adapters trained, and nothing else moved: vision tower, embeddings, norms, biases are the base's
    assert changed and changed <= targeted, sorted(changed - targeted)
    moved = 0
    for name in changed:  # each change is an adapter's: (alpha / r) B A has rank <= r
        s = torch.linalg.svdvals((trained[name] - start[name]).double())
        if s[0] > 1e-4:  # well above the float32 rounding of W + BA (~1e-8 here), which has no low rank
            moved += 1
            assert s[LORA_RANK] < 1e-4 * s[0], (name, s[:LORA_RANK + 2])
    assert moved, "no adapter moved its projection by more than rounding"
    settings = json.loads((lora_run / "train_log.json").read_text())["settings"]
    assert settings["lora"] is True and settings["lora_rank"] == LORA_RANK and settings["gradient_checkpointing"] is False


def test_grpo_gradient_checkpointing_recomputes_layers_and_takes_the_same_steps(answering_model, lora_run, monkeypatch):
    """train_grpo (the API) with the CLI run's settings and gradient checkpointing: the same steps."""
    import json

    import transformers.modeling_utils as modeling_utils

    from fingereval.train import train_grpo

    lora_run, _ = lora_run
    recomputed = []
    checkpoint = modeling_utils.checkpoint

    def counting(*args, **kwargs):  # the real torch checkpoint, counted
        recomputed.append(1)
        return checkpoint(*args, **kwargs)

    monkeypatch.setattr(modeling_utils, "checkpoint", counting)
    data = lora_run.parent / "qa.jsonl"
    result = train_grpo(data, answering_model, lora_run.parent / "gc", steps=2, group_size=4, max_completion=8, lr=1e-3,
                        video_config=VIDEO, device="cpu", lora=True, lora_rank=LORA_RANK, gradient_checkpointing=True,
                        questions=QUESTIONS, eval_data=data, eval_questions=EVAL_QUESTIONS, seed=SEED)
    assert recomputed  # the layers ran under torch.utils.checkpoint
    assert json.loads((result.out_dir / "train_log.json").read_text())["settings"]["gradient_checkpointing"] is True
    without = json.loads((lora_run / "train_log.json").read_text())["log_history"]
    assert result.logged("grad_norm")[0] > 1e-4  # a real gradient on the first step (the rewards differ) ...
    for key in ("loss", "grad_norm", "reward"):  # ... and the same steps as without checkpointing
        assert result.logged(key) == pytest.approx([e[key] for e in without if key in e], rel=1e-4, abs=1e-8), key


def test_with_lora_the_reference_is_the_base_with_adapters_off_and_every_forward_sees_the_video(
        tiny_model_dir, red_video, blue_static_video, tmp_path):
    from fingereval.answer.transformers_backend import load_model_and_processor
    from fingereval.train.sft import lora_config

    trainer = _trainer(tiny_model_dir, _records(red_video, blue_static_video), tmp_path / "grpo", group_size=2,
                       max_completion=6, peft_config=lora_config(LORA_RANK))
    model = trainer.model
    trained = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trained and all("lora_" in n for n in trained)
    assert trainer.ref_model is None  # no second copy: TRL disables the adapters for the reference
    with torch.no_grad():  # as if trained (lora_B starts at zero, where the policy would equal the base)
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.1)
    rows = [row for row in trainer.train_dataset for _ in range(2)]
    torch.manual_seed(0)
    batch = trainer._generate_and_score_completions(rows)
    ids = torch.cat([batch["prompt_ids"], batch["completion_ids"]], dim=1)
    mask = torch.cat([batch["prompt_mask"], batch["completion_mask"]], dim=1)
    with torch.no_grad(), trainer.forwards_see(batch["videos"]):
        policy, _, _ = trainer._get_per_token_logps_and_entropies(model, ids, mask, batch["completion_ids"].size(1))
    base = load_model_and_processor(tiny_model_dir)[0]
    video_id = trainer.video_token_id
    for i, video in enumerate(batch["videos"]):
        prompt = batch["prompt_ids"][i][batch["prompt_mask"][i].bool()].tolist()
        completion = batch["completion_ids"][i][batch["completion_mask"][i].bool()].tolist()
        n = len(completion)
        with torch.no_grad():
            on_base = _plain_forward_logps(base, prompt, completion, video, video_id)
            with_adapters = _plain_forward_logps(model.get_base_model(), prompt, completion, video, video_id)
        assert torch.allclose(batch["ref_per_token_logps"][i, :n], on_base, atol=1e-4)  # reference = the base
        assert torch.allclose(policy[i, :n], with_adapters, atol=1e-4)  # policy = base + adapters, video seen
        assert (with_adapters - on_base).abs().max() > 1e-2  # and the adapters do change the log-probs


# ---- the graded reward ----

def test_graded_reward_is_the_answerers_probability_of_the_right_answer_after_the_completions_reasoning(
        tiny_model_dir, red_video, blue_static_video, tmp_path):
    """`train grpo --reward graded`: each completion's reward is P(right) / (P(yes) + P(no)) at `<answer>` after its
    own <think> part, with the video; checked against the answerer's own scoring (a plain forward per question on
    the same video, question and reasoning), and 0 for a completion that wrote no `<answer>`."""
    from fingereval.answer.format import ANSWER_OPEN, user_text
    from fingereval.train.checkpoint import load_for_training
    from fingereval.train.grpo import grpo_rows, grpo_trainer
    from fingereval.train.training_config import grpo_config
    from fingereval.video import load_video

    net, processor, _ = load_for_training(tiny_model_dir, "cpu")
    records = _records(red_video, blue_static_video)  # truths: yes, then no
    config = grpo_config(tmp_path / "g", steps=1, group_size=2, prompts_per_step=2, max_completion=8,
                         video_config=VIDEO, reward="graded")
    trainer = grpo_trainer(net, processor, grpo_rows(records, processor), [], config, "cpu")
    assert trainer.reward_func_names == ["graded_reward", "format_reward"]
    rows = [row for row in trainer.train_dataset for _ in range(2)]  # as the sampler groups them
    think = ["<think>It slides right.</think>", "<think>Nothing moves in the frame.</think>"]
    # `<answer>Yes` is `>` `Yes` on Qwen's vocabulary, `<answer>No` the merged `>No`: both are read at the slot
    completions = [think[0] + "<answer>Yes</answer>", think[1] + "No tag at all.",
                   think[1] + "<answer>No</answer>", think[0] + "<answer>Yes</answer>"]
    ids = [processor.tokenizer(c, add_special_tokens=False)["input_ids"] for c in completions]
    with torch.no_grad(), trainer.forwards_see(trainer.prompt_videos(rows)):
        graded = trainer.graded_reward(prompts=[r["prompt"] for r in rows], completions=completions,
                                       completion_ids=ids, answer=[r["answer"] for r in rows])

    answerer = TransformersAnswerer.from_loaded(trainer.model, processor, video_config=VIDEO, shared_prefix=False)

    def p_right(record: dict, reasoning: str) -> float:
        p_yes = answerer.p_yes(load_video(record["video"], VIDEO), [user_text(record["question"])],
                               [reasoning + ANSWER_OPEN])[0]
        return p_yes if record["answer"] == "yes" else 1.0 - p_yes

    expected = [p_right(records[0], think[0]), 0.0, p_right(records[1], think[1]), p_right(records[1], think[0])]
    assert graded == pytest.approx(expected, abs=1e-4), (graded, expected)
    # the random tiny model is near certain (P(right) 6e-5 or 0.99994), where 1e-4 would pass other readings too:
    # its log-odds must agree as well, and differ between readings by far more than that tolerance
    read = [_log_odds(g) for g in graded if g]
    want = [_log_odds(e) for e in expected if e]
    assert read == pytest.approx(want, abs=1e-3), (read, want)
    assert max(want) - min(want) > 1.0 and abs(want[1] - want[2]) > 0.01  # other question; same question, other reason


def _log_odds(p: float) -> float:
    return math.log(p) - math.log1p(-p)


def test_a_graded_grpo_step_rewards_the_answering_models_even_odds_not_its_hits(
        answering_model, red_video, blue_static_video, tmp_path):
    """Inside TRL's own step (generation, then the rewards with the rows' videos in flight): the rigged model says
    Yes or No with probability 0.495 each after `<answer>`, so every completion that wrote `<answer>` is graded 0.5
    (to the rig's stray mass on other yes/no spellings, under 1e-3) whatever it said, where accuracy gives 0 or 1."""
    from fingereval.answer.format import ANSWER_OPEN
    from fingereval.train.checkpoint import load_for_training
    from fingereval.train.grpo import grpo_rows, grpo_trainer
    from fingereval.train.training_config import grpo_config

    net, processor, _ = load_for_training(answering_model, "cpu")
    config = grpo_config(tmp_path / "g", steps=1, group_size=4, prompts_per_step=2, max_completion=8,
                         video_config=VIDEO, reward="graded")
    trainer = grpo_trainer(net, processor, grpo_rows(_records(red_video, blue_static_video), processor), [], config,
                           "cpu")
    rows = [row for row in trainer.train_dataset for _ in range(4)]
    torch.manual_seed(0)
    trainer._generate_and_score_completions(rows)
    texts, graded = list(trainer._logs["completion"]), list(trainer._logs["rewards"]["graded_reward"])
    assert len(graded) == 8 and any(ANSWER_OPEN in t for t in texts), texts
    assert graded == pytest.approx([0.5 if ANSWER_OPEN in t else 0.0 for t in texts], abs=1e-3), (texts, graded)


def test_an_unknown_grpo_reward_is_refused_in_one_line_naming_the_choices(tmp_path):
    from typer.testing import CliRunner

    from fingereval.cli.train import train_app

    result = CliRunner().invoke(train_app, ["grpo", "--data", str(tmp_path / "qa.jsonl"), "--model", "m",
                                            "--out", str(tmp_path / "g"), "--reward", "probability"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "reward must be one of accuracy, graded, got 'probability'" in " ".join(result.output.split())
