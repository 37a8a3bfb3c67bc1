"""Typed training configs: TRL's SFTConfig / GRPOConfig with the project's fields, read from YAML by TRL's parser,
overridden by explicit flags, and saved beside the checkpoint so that a run can be repeated."""
from __future__ import annotations

import dataclasses
import json

import pytest
import torch
from typer.testing import CliRunner

from fingereval.data.instruct import InstructRecord, write_instruct
from fingereval.errors import ConfigError
from fingereval.video import VideoConfig

SFT_EXTRAS = {"reason", "lora", "lora_rank", "pack_questions", "micro_batches", "freeze_vision", "fps", "max_frames",
              "size", "keep_aspect"}
GRPO_EXTRAS = {"prompts_per_step", "questions", "eval_questions", "lora", "lora_rank", "fps", "max_frames", "size",
               "keep_aspect"}


def _fields(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


@pytest.fixture(scope="module")
def data(red_video, blue_static_video, tmp_path_factory):
    rows = []
    for path, moving in ((red_video, True), (blue_static_video, False)):
        rows.append({"video": str(path), "prompt": "a square", "dimension": "dynamic_degree",
                     "question": "Does the square move?", "good_answer": "yes", "answer": "yes" if moving else "no",
                     "reason": "The square slides to the right." if moving else "The square stays in one place."})
    return write_instruct(tmp_path_factory.mktemp("data") / "qa.jsonl", [InstructRecord.model_validate(r) for r in rows])


def test_the_configs_are_trls_dataclasses_with_the_projects_fields():
    from trl import GRPOConfig, SFTConfig

    from fingereval.train import VideoGRPOConfig, VideoSFTConfig

    assert issubclass(VideoSFTConfig, SFTConfig) and issubclass(VideoGRPOConfig, GRPOConfig)
    assert SFT_EXTRAS <= _fields(VideoSFTConfig) and not SFT_EXTRAS & _fields(SFTConfig)
    assert GRPO_EXTRAS <= _fields(VideoGRPOConfig) and not GRPO_EXTRAS & _fields(GRPOConfig)

    sft = VideoSFTConfig(output_dir="o", lora=False, size=112, max_frames=4)
    assert sft.learning_rate == 1e-5 and sft.video_config() == VideoConfig(size=112, max_frames=4)
    assert VideoSFTConfig(output_dir="o").learning_rate == 2e-4  # LoRA's default rate
    # a copy is made from the given values: the rate picked for LoRA is picked again for full fine-tuning
    assert VideoSFTConfig(output_dir="o").replace(lora=False).learning_rate == 1e-5
    grpo = VideoGRPOConfig(output_dir="g", num_generations=4, prompts_per_step=3)
    assert grpo.per_device_train_batch_size == 12 and grpo.generation_batch_size == 12
    smaller = grpo.replace(num_generations=2)  # TRL's derived generation batch is derived again, not kept
    assert smaller.per_device_train_batch_size == smaller.generation_batch_size == 6
    with pytest.raises(ValueError, match="micro_batches must divide"):
        VideoSFTConfig(output_dir="o", per_device_train_batch_size=4, micro_batches=3)
    with pytest.raises(ValueError, match="bad video config"):
        VideoGRPOConfig(output_dir="g", size=8)


def test_keyword_options_give_the_trainer_the_same_config_as_before(tmp_path):
    """What train_sft / train_grpo handed TRL before the typed configs, field for field."""
    from trl import GRPOConfig, SFTConfig

    from fingereval.train.training_config import grpo_config, sft_config

    out = str(tmp_path / "o")
    sft = sft_config(out, lora=False, epochs=3, lr=None, batch_size=4, grad_accum=2, micro_batches=2, warmup=0.1,
                     schedule="constant", log_every=1, seed=5, video_config=VideoConfig(size=112, max_frames=4))
    assert sft.trainer_args("cpu") == SFTConfig(
        output_dir=out, num_train_epochs=3, learning_rate=1e-5, per_device_train_batch_size=2,
        gradient_accumulation_steps=4, warmup_steps=0.1, lr_scheduler_type="constant_with_warmup", weight_decay=0.0,
        logging_steps=1, logging_first_step=True, save_strategy="no", report_to="none", activation_checkpointing=False,
        bf16=False, use_cpu=True, seed=5, remove_unused_columns=False, dataset_kwargs={"skip_prepare_dataset": True},
        max_length=None, dataloader_num_workers=0, dataloader_pin_memory=False, disable_tqdm=True,
        train_sampling_strategy="batch_rebalance")
    grpo = grpo_config(out, steps=7, group_size=4, prompts_per_step=2, beta=0.1, lr=2e-6, temperature=0.7,
                       max_completion=16, seed=3, log_every=2, gradient_checkpointing=True)
    assert grpo.trainer_args("cpu", suppress_tokens=[1, 2], evaluate=True) == GRPOConfig(
        output_dir=out, max_steps=7, learning_rate=2e-6, beta=0.1, temperature=0.7, num_generations=4,
        per_device_train_batch_size=8, gradient_accumulation_steps=1, max_completion_length=16, loss_type="grpo",
        generation_kwargs={"suppress_tokens": [1, 2]}, logging_steps=2, save_strategy="no", report_to="none",
        activation_checkpointing=True, bf16=False, use_cpu=True, seed=3, remove_unused_columns=False,
        dataloader_num_workers=0, dataloader_pin_memory=False, disable_tqdm=True, log_completions=False,
        eval_strategy="steps", eval_steps=7, eval_on_start=True, num_generations_eval=4, per_device_eval_batch_size=8)
    with pytest.raises(TypeError, match="unexpected keyword argument 'epoch'"):
        sft_config(out, epoch=3)


def test_yaml_is_read_by_trls_parser(tmp_path, monkeypatch):
    from fingereval.train.training_config import VideoGRPOConfig, VideoSFTConfig, load_config

    monkeypatch.delenv("FINGEREVAL_TEST_ENV", raising=False)
    path = tmp_path / "sft.yaml"
    # `1e-3` is a string to YAML; TRL's parser converts it to the field's type. `env` sets environment variables.
    path.write_text("learning_rate: 1e-3\nreason: false\nmicro_batches: 2\nenv:\n  FINGEREVAL_TEST_ENV: 'on'\n")
    config = load_config(VideoSFTConfig, path)
    assert config.learning_rate == 1e-3 and config.reason is False and config.micro_batches == 2
    assert config.output_dir == "trainer_output"  # TRL's default; the CLI and train_sft set it from --out / out
    import os

    assert os.environ["FINGEREVAL_TEST_ENV"] == "on"
    old_name = tmp_path / "grpo.yaml"
    old_name.write_text("gradient_checkpointing: true\n")  # transformers' older name for activation_checkpointing
    assert load_config(VideoGRPOConfig, old_name).activation_checkpointing is True
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(VideoSFTConfig, tmp_path / "nope.yaml")


@pytest.mark.parametrize("command", ["sft", "grpo"])
def test_an_unknown_key_in_the_yaml_is_one_line_naming_it(command, data, tiny_model_dir, tmp_path):
    from fingereval.cli.train import train_app

    path = tmp_path / f"{command}.yaml"
    path.write_text("learning_rate: 1.0e-3\nlerning_rate: 2.0e-3\n")
    out = tmp_path / "o"
    result = CliRunner().invoke(train_app, [command, "--config", str(path), "--data", str(data),
                                            "--model", str(tiny_model_dir), "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error:") and "unknown key lerning_rate" in lines[0] and str(path) in lines[0]
    assert "Traceback" not in result.output and not out.exists()


def test_cli_sft_reads_the_yaml_lets_explicit_flags_override_it_and_saves_the_config_it_used(
        data, tiny_model_dir, tmp_path):
    from fingereval.cli.train import train_app
    from fingereval.train.training_config import TRAINING_CONFIG_FILE, VideoSFTConfig, load_config

    path = tmp_path / "sft.yaml"
    path.write_text("num_train_epochs: 3\nlearning_rate: 1e-3\nreason: false\nlora: false\npack_questions: false\n"
                    "per_device_train_batch_size: 2\nlogging_steps: 1\nseed: 7\nmax_frames: 4\nsize: 112\n"
                    "weight_decay: 0.01\n")
    out = tmp_path / "sft"
    # --epochs and --lr override the file; --reason is explicit even though it is the flag's default
    result = CliRunner().invoke(train_app, ["sft", "--config", str(path), "--data", str(data), "--model",
                                            str(tiny_model_dir), "--out", str(out), "--epochs", "1", "--lr", "5e-4",
                                            "--reason"])
    assert result.exit_code == 0, result.output
    saved = out / TRAINING_CONFIG_FILE
    assert f"--config {saved}" in result.output
    used = load_config(VideoSFTConfig, saved)
    assert used == load_config(VideoSFTConfig, path).replace(num_train_epochs=1, learning_rate=5e-4, reason=True,
                                                             output_dir=str(out))
    assert (used.num_train_epochs, used.learning_rate, used.reason) == (1, 5e-4, True)  # the flags
    assert (used.lora, used.weight_decay, used.max_frames, used.size) == (False, 0.01, 4, 112)  # the file
    assert used.seed == 7  # --seed was not given: its default (0) does not override the file
    settings = json.loads((out / "train_log.json").read_text())["settings"]
    assert settings["lr"] == 5e-4 and settings["epochs"] == 1 and settings["reason"] is True
    assert settings["video_config"]["max_frames"] == 4 and settings["packed"] is False
    assert len(json.loads((out / "train_log.json").read_text())["log_history"]) >= 1


@pytest.fixture(scope="module")
def answering_model(tmp_path_factory):
    """The rigged model that answers Yes or No about evenly (tests/test_train_grpo.py): rewards that differ."""
    from rigged import rig
    from test_train_grpo import ANSWERING

    return rig(ANSWERING, tmp_path_factory.mktemp("answering") / "model")


def test_cli_grpo_reads_the_yaml_and_the_saved_config_repeats_the_run(data, answering_model, tmp_path):
    from safetensors.torch import load_file

    from fingereval.cli.train import train_app
    from fingereval.train.training_config import TRAINING_CONFIG_FILE, VideoGRPOConfig, load_config

    path = tmp_path / "grpo.yaml"
    path.write_text("max_steps: 5\nnum_generations: 4\nmax_completion_length: 8\nlearning_rate: 1e-3\nbeta: 0.1\n"
                    "max_frames: 4\nsize: 112\nseed: 3\n")
    out = tmp_path / "grpo"
    result = CliRunner().invoke(train_app, ["grpo", "--config", str(path), "--data", str(data), "--model",
                                            str(answering_model), "--out", str(out), "--steps", "1", "--device", "cpu"])
    assert result.exit_code == 0, result.output
    used = load_config(VideoGRPOConfig, out / TRAINING_CONFIG_FILE)
    assert used == load_config(VideoGRPOConfig, path).replace(max_steps=1, output_dir=str(out))
    assert (used.max_steps, used.num_generations, used.beta, used.seed) == (1, 4, 0.1, 3)
    settings = json.loads((out / "train_log.json").read_text())["settings"]
    assert settings["steps"] == 1 and settings["group_size"] == 4 and settings["beta"] == 0.1

    again = tmp_path / "again"  # the saved file repeats the run: the same config, another folder
    result = CliRunner().invoke(train_app, ["grpo", "--config", str(out / TRAINING_CONFIG_FILE), "--data", str(data),
                                            "--model", str(answering_model), "--out", str(again), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert load_config(VideoGRPOConfig, again / TRAINING_CONFIG_FILE) == used.replace(output_dir=str(again))
    first, second = (json.loads((d / "train_log.json").read_text())["log_history"] for d in (out, again))
    rewards = [e["rewards/accuracy_reward/mean"] for e in first if "reward" in e]
    assert rewards and all(0.0 < r < 1.0 for r in rewards), rewards  # the group's answers differ: a real step
    for key in ("loss", "reward", "grad_norm"):  # the same seeded run
        assert [e[key] for e in first if key in e] == pytest.approx([e[key] for e in second if key in e]), key
    start, one, two = (load_file(d / "model.safetensors") for d in (answering_model, out, again))
    assert all(torch.equal(one[k], two[k]) for k in one)  # the same weights, bit for bit
    assert any(not torch.equal(one[k], start[k]) for k in one)  # and the step moved them


def test_train_sft_takes_a_config_object(data, tiny_model_dir, tmp_path):
    from fingereval.train import VideoSFTConfig, train_sft
    from fingereval.train.training_config import TRAINING_CONFIG_FILE, load_config

    config = VideoSFTConfig(output_dir=str(tmp_path / "from-config"), lora=False, num_train_epochs=1, max_frames=4,
                            size=112, logging_steps=1)
    result = train_sft(data, tiny_model_dir, config=config, device="cpu")
    assert result.out_dir == tmp_path / "from-config" and result.logged("loss")
    assert load_config(VideoSFTConfig, result.out_dir / TRAINING_CONFIG_FILE) == config
    with pytest.raises(TypeError, match="needs `out`"):
        train_sft(data, tiny_model_dir, lora=False)


def test_sft_gradient_checkpointing_reaches_the_trainer_from_an_option_a_file_or_its_old_name(tmp_path):
    """train_sft's `gradient_checkpointing` (the CLI's --gradient-checkpointing) sets transformers' activation
    checkpointing; a file may set either name; an option given wins over the file's."""
    from fingereval.train.training_config import VideoSFTConfig, load_config, sft_config

    out = str(tmp_path / "o")
    assert sft_config(out).trainer_args("cpu").activation_checkpointing is False
    on = sft_config(out, gradient_checkpointing=True)
    assert on.trainer_args("cpu").activation_checkpointing is True
    assert on.trainer_args("cpu").gradient_checkpointing is True  # the old name TRL reads (LoRA's input grads)
    for key in ("activation_checkpointing", "gradient_checkpointing"):
        path = tmp_path / f"{key}.yaml"
        path.write_text(f"{key}: true\n")
        from_file = load_config(VideoSFTConfig, path)
        assert from_file.trainer_args("cpu").activation_checkpointing is True, key
        assert sft_config(out, base=from_file, gradient_checkpointing=False).trainer_args("cpu").activation_checkpointing is False
    assert "activation_checkpointing: true" in on.to_yaml()  # saved beside the checkpoint, so --config repeats it


def test_lora_gets_its_own_learning_rate_in_sft_and_grpo_unless_one_is_given():
    """LoRA's default rates are a multiple of full fine-tuning's (docs/training.md, "LoRA defaults, measured"),
    for GRPO as for SFT: GRPO's full fine-tuning rate (1e-6) would leave the adapters where they start."""
    from fingereval.train.training_config import (DEFAULT_GRPO_LR_FULL, DEFAULT_GRPO_LR_LORA, DEFAULT_LR_FULL,
                                                  DEFAULT_LR_LORA, VideoGRPOConfig, VideoSFTConfig, grpo_config)

    assert (DEFAULT_LR_FULL, DEFAULT_GRPO_LR_FULL) == (1e-5, 1e-6)
    assert DEFAULT_LR_LORA >= 10 * DEFAULT_LR_FULL and DEFAULT_GRPO_LR_LORA >= 10 * DEFAULT_GRPO_LR_FULL
    assert VideoSFTConfig(output_dir="o").learning_rate == DEFAULT_LR_LORA
    full = VideoGRPOConfig(output_dir="g")
    assert full.lora is False and full.learning_rate == DEFAULT_GRPO_LR_FULL
    assert full.replace(lora=True).learning_rate == DEFAULT_GRPO_LR_LORA  # picked again, not copied
    assert grpo_config("g", lora=True, lr=None).trainer_args("cpu", suppress_tokens=[]).learning_rate == DEFAULT_GRPO_LR_LORA
    assert grpo_config("g", lora=True, lr=3e-6).learning_rate == 3e-6  # a given rate wins
