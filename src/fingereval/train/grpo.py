"""GRPO on FingER-Instruct with TRL's GRPOTrainer, made to see the video in every forward.

Rewards (fingereval.train.rewards): accuracy of the parsed yes/no answer (the paper's; or, with `reward="graded"`,
the policy's probability of the right answer at the answer slot), and the exact
`<think>...</think><answer>...</answer>` format; KL (beta) to the frozen starting model. "Cold start"
is GRPO from an SFT checkpoint, "zero" from the base model: only `model` differs.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from functools import cached_property
from pathlib import Path

import torch

from fingereval.answer.chat_tokens import slot_ids
from fingereval.answer.format import ANSWER_OPEN
from fingereval.answer.hf_compat import grpo_hooks
from fingereval.answer.inputs import VIDEO_PAD, mm_token_type_ids, process
from fingereval.answer.tokens import AnswerSlot, answer_slot, slot_log_odds
from fingereval.train.checkpoint import TrainResult, load_for_training, require_fp32_trainable, train_and_save
from fingereval.train.collate import prompt_text
from fingereval.train.training_config import VideoGRPOConfig, grpo_config, require_output_dir
from fingereval.train.examples import ClipCache, TrainData, training_rows
from fingereval.train.progress import use_rich_log
from fingereval.train.rewards import accuracy_reward, format_reward, graded_rewards
from fingereval.train.sft import lora_config  # one LoRA recipe (targets, alpha) for SFT and GRPO

VIDEO_KEYS = ("pixel_values_videos", "video_grid_thw", "second_per_grid_ts")


class VideoGRPOTrainer(grpo_hooks()):
    """GRPOTrainer whose policy, old and reference log-prob forwards get each sample's video.

    Why: TRL 1.16 carries only *image* tensors from prompt tokenisation to the log-prob forwards. With
    video, generation sees the frames, but the per-token log-prob step gets neither
    `pixel_values_videos` nor `mm_token_type_ids`: the `<|video_pad|>` tokens are embedded as text and
    positions fall back to 1-D, so training log-probs are those of another model (about 3 nats off) and
    the policy gradient and KL are wrong while everything runs. Here each row's video tensors come from
    the real processor (fingereval.answer.inputs.process, the scoring path), travel with the batch as a
    per-sample list (`videos`: TRL's shuffling and splitting then keep them aligned with their rows),
    and are handed, with `mm_token_type_ids` rebuilt from the ids, to every log-prob forward. TRL's private
    steps are reached under the names fingereval.answer.hf_compat.grpo_hooks gives them.

    Dataset rows: `prompt` (the chat text, fingereval.train.collate.prompt_text), `video` (a path) and
    whatever the reward functions read (`answer`). `answer_reward` names the rewards: "accuracy" (the paper's,
    with format) or "graded" (`graded_reward`, with format); without it, TRL's `reward_funcs` are used as given.
    """

    def __init__(self, *args, clips: ClipCache, answer_reward: str | None = None, **kwargs):
        if answer_reward is not None:  # the rewards by name (or TRL's reward_funcs as given)
            # graded is this trainer's own method (it reads the policy and the rows' videos), so it is named here
            answer = self.graded_reward if answer_reward == "graded" else accuracy_reward
            kwargs["reward_funcs"] = [answer, format_reward]
        super().__init__(*args, **kwargs)
        self.clips = clips
        self.video_token_id = self.text_tokenizer.convert_tokens_to_ids(VIDEO_PAD)
        self._videos_in_flight: list[dict] | None = None  # per-row video tensors of the forwards running now

    # ---- prompt tokenisation through the real processor ----------------------------------------

    def prompt_videos(self, rows: Sequence[Mapping]) -> list[dict]:
        """Per row: prompt token ids and video tensors (batch of one) from the real processor.

        The group's copies of a row share one entry, so each distinct question is processed once per batch.
        """
        done: dict[tuple[str, str], dict] = {}
        out = []
        for row in rows:
            key = (str(row["video"]), row["prompt"])
            if key not in done:
                enc = process(self.processing_class, [row["prompt"]], [self.clips(row["video"])])
                done[key] = {
                    "prompt_ids": enc["input_ids"][0].tolist(),
                    "pixel_values_videos": enc["pixel_values_videos"],
                    "video_grid_thw": enc["video_grid_thw"],
                    "second_per_grid_ts": torch.as_tensor(enc["second_per_grid_ts"], dtype=torch.float32).reshape(1),
                }
            out.append(done[key])
        return out

    @contextmanager
    def forwards_see(self, videos: Sequence[dict]) -> Iterator[None]:
        """Log-prob forwards inside this block get these per-row videos (aligned with the batch rows)."""
        self._videos_in_flight = list(videos)
        try:
            yield
        finally:
            self._videos_in_flight = None

    # ---- GRPOTrainer's steps (fingereval.answer.hf_compat.grpo_hooks) --------------------------------

    def generate_and_score(self, inputs: list[dict]) -> dict:
        videos = self.prompt_videos(inputs)
        with self.forwards_see(videos):  # generation (via tokenize_prompts), old and reference log-probs
            output = super().generate_and_score(inputs)
        output["videos"] = videos  # a per-sample list: shuffled and split with the other rows
        return output

    def tokenize_prompts(self, prompts: list):
        # Called by TRL's generation for the rows set in generate_and_score, in the same order.
        videos = self._require_videos(len(prompts))
        fields = {k: torch.cat([v[k] for v in videos]) for k in VIDEO_KEYS}
        # per-token lists: TRL left-pads them like the prompt ids for generate()
        fields["mm_token_type_ids"] = [mm_token_type_ids(torch.tensor(v["prompt_ids"]), self.video_token_id).tolist()
                                       for v in videos]
        return [v["prompt_ids"] for v in videos], None, fields

    def compute_policy_loss(self, model, inputs):
        with self.forwards_see(inputs["videos"]):
            return super().compute_policy_loss(model, inputs)

    def per_token_logps(self, model, input_ids, attention_mask, logits_to_keep, *, batch_size=None,
                        compute_entropy=False):
        """TRL's per-token log-probs (fused LM head, chunked), with each row's video in the forward."""
        videos = self._require_videos(input_ids.size(0))
        batch_size = batch_size or input_ids.size(0)
        all_logps, all_entropies = [], []
        for start in range(0, input_ids.size(0), batch_size):
            end = min(start + batch_size, input_ids.size(0))
            ids, mask = input_ids[start:end], attention_mask[start:end]
            labels = ids.masked_fill(mask == 0, -100)
            labels[:, :-logits_to_keep] = -100  # only the completion tokens are scored
            log_probs, entropy = self.fused_log_probs(model, labels, input_ids=ids, attention_mask=mask,
                                                      **video_forward_inputs(videos[start:end], ids, self.video_token_id))
            all_logps.append(log_probs[:, -logits_to_keep:])
            if compute_entropy:
                all_entropies.append(entropy[:, -logits_to_keep:])
        return torch.cat(all_logps), torch.cat(all_entropies) if compute_entropy else None

    # ---- the graded reward --------------------------------------------------------------------------

    @cached_property
    def answer_slot(self) -> AnswerSlot:
        """The scoring path's yes/no token sets at `<answer>` (built once: it decodes the whole vocabulary)."""
        return answer_slot(self.text_tokenizer, ANSWER_OPEN)

    def graded_reward(self, prompts: Sequence, completions: Sequence, completion_ids: Sequence[Sequence[int]],
                      answer: Sequence, **kwargs) -> list[float]:
        """TRL reward: the policy's probability of the true answer after each completion's own reasoning, read at
        the answer slot as the answerer reads it (fingereval.train.rewards.graded_rewards; no `<answer>`: 0).

        Called inside generate_and_score, so the rows' videos are in flight: the reading sees the video."""
        videos = self._require_videos(len(completion_ids))
        # the completion's own ids up to `<answer>` (a merged `>No` is split, as at scoring); forced: none written
        cut = [slot_ids(self.text_tokenizer, self.answer_slot, list(ids)) for ids in completion_ids]
        rows = [v["prompt_ids"] + ids for v, (ids, _) in zip(videos, cut)]
        return graded_rewards(self.slot_p_yes(rows, videos), [not forced for _, forced in cut], answer)

    @torch.no_grad()
    def slot_p_yes(self, rows: Sequence[list[int]], videos: Sequence[dict]) -> list[float]:
        """P(yes)/(P(yes) + P(no)) at the end of each row (prompt + completion up to `<answer>`), with its video.

        Rows are left-padded so that every row ends at the last two positions, the only logits computed (the
        merged `>No` path is read one position before the slot's last token: fingereval.answer.tokens). Chunks of
        one group keep the forward's memory at a group's, as generation's is."""
        pad = self.text_tokenizer.pad_token_id or 0
        step = self.num_generations or len(rows)
        p_yes: list[float] = []
        for start in range(0, len(rows), step):
            chunk, width = rows[start:start + step], max(len(r) for r in rows[start:start + step])
            ids = torch.tensor([[pad] * (width - len(r)) + r for r in chunk], device=self.accelerator.device)
            mask = torch.tensor([[0] * (width - len(r)) + [1] * len(r) for r in chunk], device=ids.device)
            with self.accelerator.autocast():
                logits = self.model(input_ids=ids, attention_mask=mask, use_cache=False, logits_to_keep=2,
                                    **video_forward_inputs(videos[start:start + step], ids, self.video_token_id)).logits
            logp = torch.log_softmax(logits.double(), dim=-1)  # float64, as the answerer reads the slot
            ends = ids[:, -1] == self.answer_slot.last
            p_yes += torch.sigmoid(slot_log_odds(self.answer_slot, logp[:, 0], logp[:, 1], ends)).tolist()
        return p_yes

    def _require_videos(self, n: int) -> list[dict]:
        videos = self._videos_in_flight
        if videos is None or len(videos) != n:
            # refuse rather than fall back to TRL's text-only forward, which runs and is silently wrong
            raise RuntimeError(f"a forward over {n} rows without their videos "
                               f"({0 if videos is None else len(videos)} in flight); every forward must see the video")
        return videos


def video_forward_inputs(videos: Sequence[dict], input_ids: torch.Tensor, video_token_id: int) -> dict:
    """Model kwargs for rows with one video each: stacked video tensors and mm_token_type_ids (3-D positions)."""
    device = input_ids.device
    return {
        "pixel_values_videos": torch.cat([v["pixel_values_videos"] for v in videos]).to(device),
        "video_grid_thw": torch.cat([v["video_grid_thw"] for v in videos]).to(device),
        "second_per_grid_ts": torch.cat([v["second_per_grid_ts"] for v in videos]).to(device),
        "mm_token_type_ids": mm_token_type_ids(input_ids, video_token_id),
    }


def grpo_rows(data: TrainData, processor) -> list[dict]:
    """Dataset rows for VideoGRPOTrainer: the reason-mode prompt, the video path and the true answer."""
    return [{"prompt": prompt_text(processor, r["question"]), "video": r["video"], "answer": r["answer"]}
            for r in training_rows(data)]


def fixed_sample(rows: list[dict], n: int, seed: int) -> list[dict]:
    """`n` rows drawn without replacement by a seeded generator (all of them when there are fewer)."""
    import random

    return rows if len(rows) <= n else random.Random(seed).sample(rows, n)


def train_grpo(data: TrainData, model: str | Path, out: str | Path | None = None, *,
               config: VideoGRPOConfig | None = None, device: str | None = None, eval_data: TrainData | None = None,
               **options) -> TrainResult:
    """GRPO from `model` (an SFT checkpoint: cold start; the base model: zero) on `data`; saves to `out`.

    The settings are a `VideoGRPOConfig` (fingereval.train.training_config): `config`, or its defaults, with `options`
    applied (field names, or the short names steps, group_size, lr, max_completion, log_every,
    gradient_checkpointing and video_config); `out` sets its output_dir. The config is saved beside the
    checkpoint (training_config.yaml). `device` (cpu, cuda, cuda:1; default: cuda if available) is where it runs.

    Each step samples `group_size` completions for each of `prompts_per_step` questions and rewards
    accuracy (or, with `reward="graded"`, the probability of the right answer) + format. `video_config` must be
    the one the answerer will use at scoring time.
    With `eval_data`, the same `eval_questions` questions drawn from it (seeded) are sampled and rewarded
    before the first step and after the last (TRL's evaluation: `eval_reward` in the log). The training
    reward of a step is over other questions every step, so only this fixed set shows whether GRPO raised it.
    `questions` trains on a fixed, seeded sample of that many questions of `data` (the same sample as
    `eval_questions` of the same file with the same seed), so that every epoch revisits them.
    `lora=True` trains float32 LoRA adapters (rank `lora_rank`) on the language model's attention and MLP
    projections, as SFT does; the base stays frozen (bfloat16 on CUDA), and the reference is that base with
    the adapters disabled (TRL's peft_config path), so no second copy of the model is held. The checkpoint is
    saved merged. `gradient_checkpointing=True` recomputes each layer's activations in the backward pass
    instead of keeping them (less memory, a slower step; TRL turns it off while generating).
    """
    config = grpo_config(out, base=config, **options)
    require_output_dir(config, "train_grpo")
    net, processor, device = load_for_training(model, device, lora=config.lora)
    rows = grpo_rows(data, processor)
    rows = fixed_sample(rows, config.questions, config.seed) if config.questions else rows
    eval_rows = [] if eval_data is None else fixed_sample(grpo_rows(eval_data, processor), config.eval_questions,
                                                          config.seed)
    trainer = grpo_trainer(net, processor, rows, eval_rows, config, device)
    return train_and_save(trainer, processor, config, grpo_settings(config, model, examples=len(rows),
                                                                    eval_questions=len(eval_rows)))


def grpo_trainer(net, processor, rows: list[dict], eval_rows: list[dict], config: VideoGRPOConfig, device: str):
    """VideoGRPOTrainer with accuracy (or graded) + format rewards on `rows` (and `eval_rows`, when there are any)."""
    from datasets import Dataset

    args = config.trainer_args(device, suppress_tokens=[net.config.image_token_id, net.config.video_token_id],
                               evaluate=bool(eval_rows))
    trainer = VideoGRPOTrainer(
        model=net, answer_reward=config.reward, args=args, train_dataset=Dataset.from_list(rows),
        processing_class=processor, clips=ClipCache(config.video_config()),
        eval_dataset=Dataset.from_list(eval_rows) if eval_rows else None,
        peft_config=lora_config(config.lora_rank) if config.lora else None,
    )
    require_fp32_trainable(trainer.model)  # what the optimiser steps: all weights, or the LoRA adapters
    use_rich_log(trainer, "GRPO")
    return trainer


def grpo_settings(config: VideoGRPOConfig, model: str | Path, *, examples: int, eval_questions: int) -> dict:
    """The run's record in train_log.json (the full config is saved beside it)."""
    return {"stage": "grpo", "start_model": str(model), "steps": config.max_steps, "group_size": config.num_generations,
            "prompts_per_step": config.prompts_per_step, "beta": config.beta, "lr": config.learning_rate,
            "temperature": config.temperature, "max_completion": config.max_completion_length,
            "video_config": asdict(config.video_config()), "examples": examples, "questions": config.questions,
            "reward": config.reward, "lora": config.lora, "lora_rank": config.lora_rank if config.lora else None,
            "gradient_checkpointing": config.activation_checkpointing,
            "seed": config.seed, "eval_questions": eval_questions}
