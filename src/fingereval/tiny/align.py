"""Align a checkpoint's language model to its vision tower on scene captions, before it sees a question.

Real MLLMs are trained in this order: a pretrained vision encoder, then an alignment stage in which the
language model learns to describe what the encoder sees (captions), then instruction tuning. Our tiny
stand-in gets the same: `train vision` pretrains its tower, this stage teaches its random language
model to read that tower by writing each training video's caption (fingereval.probes.scene.scene_caption:
"Colour red. Shape ball. Edges blurred. ..."), and only then does SFT show it a question. A caption
states every finding of a video in about 40 tokens, where SFT's reasons state one per 80 tokens, so
the language model learns to read the video several times faster. The tower and merger stay frozen;
held-out videos (those in qa_heldout.jsonl) are never used; no question, yes/no or answer format is
trained, so the model still answers questions at chance. TRL's SFTTrainer runs the loop.
"""
from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from fingereval.answer.hf_compat import vision_tower
from fingereval.answer.inputs import VIDEO_PAD, chat_text, process
from fingereval.data.instruct import InstructRecord, load_instruct
from fingereval.errors import DataError
from fingereval.probes.scene import scene_caption
from fingereval.train.checkpoint import TrainResult, load_for_training, save_checkpoint
from fingereval.train.collate import END_OF_TURN, SFTCollator, padded_batch, video_token_count, with_video
from fingereval.train.examples import ClipCache
from fingereval.train.progress import use_rich_log
from fingereval.train.sft import collator_sft_config, freeze
from fingereval.tiny.vision import scene_rows
from fingereval.video import VideoConfig

CAPTION_REQUEST = "Describe what you see in the video, finding by finding."


@dataclass
class CaptionCollator(SFTCollator):
    """Rows {video, caption} -> model inputs: the request prompt (masked), then the caption (trained)."""

    def __call__(self, rows: Sequence[Mapping]) -> dict[str, torch.Tensor]:
        prompt = chat_text(self.processor, CAPTION_REQUEST)
        video = process(self.processor, [prompt] * len(rows), [self.clips(r["video"]) for r in rows])
        merge = self.processor.video_processor.merge_size
        sequences, prompt_lengths = [], []
        for row, grid in zip(rows, video["video_grid_thw"]):
            prompt_ids = self._encode(prompt.replace(VIDEO_PAD, VIDEO_PAD * video_token_count(grid, merge), 1))
            sequences.append(prompt_ids + self._encode(row["caption"] + END_OF_TURN))
            prompt_lengths.append(len(prompt_ids))
        return with_video(padded_batch(sequences, prompt_lengths, self.pad_id), video, self.video_id, merge)


def caption_rows(probe_dir: str | Path) -> tuple[list[dict], list[dict]]:
    """(train, held-out) rows {video, caption} from the probe set's scenes.jsonl."""
    def captioned(rows: list[dict]) -> list[dict]:
        return [{"video": r["video"], "caption": scene_caption(r["labels"])} for r in rows]

    train, held = scene_rows(Path(probe_dir))
    return captioned(train), captioned(held)


def instruct_records(probe_dir: str | Path, seed: int = 0) -> list[InstructRecord]:
    """The training questions as an instruction-tuned MLLM answers them before it meets FingER's data.

    The stage after alignment (this module's docstring): it has learnt to follow the answer format and to
    describe a video, never what its questions' answers are. So each training question keeps its prompt and
    question, its reason becomes the video's caption and its answer a coin flip (seeded): SFT on these rows
    teaches the format and the caption and leaves the answers at chance. It is the start of GRPO zero, as
    Qwen2.5-VL-Instruct is the paper's (docs/training.md, "GRPO zero from an instruct base").
    """
    train, _ = caption_rows(probe_dir)
    captions = {Path(r["video"]).name: r["caption"] for r in train}
    coin = random.Random(seed)
    records = []
    for record in load_instruct(Path(probe_dir) / "qa_train.jsonl"):
        caption = captions.get(Path(record.video).name)
        if caption is None:
            raise DataError(f"{record.video} (question {record.id}) has no scene row in {probe_dir}; remake the probes")
        records.append(record.model_copy(update={"reason": caption, "answer": coin.choice(("yes", "no"))}))
    return records


def align_captions(model: str | Path, probe_dir: str | Path, out: str | Path, *, epochs: float = 4.0,
                   lr: float = 1e-3, batch_size: int = 16, schedule: str = "constant", warmup: float = 0.03,
                   video_config: VideoConfig = VideoConfig(), seed: int = 0, log_every: int = 10,
                   device: str | None = None) -> TrainResult:
    """Train `model`'s language model to caption the probe set's training videos; save to `out`."""
    from datasets import Dataset
    from trl import SFTTrainer

    train, held = caption_rows(probe_dir)
    net, processor, device = load_for_training(model, device)
    freeze(vision_tower(net))
    args = collator_sft_config(out, epochs=epochs, lr=lr, batch_size=batch_size, warmup=warmup, schedule=schedule,
                               log_every=log_every, device=device, seed=seed)
    trainer = SFTTrainer(model=net, args=args, train_dataset=Dataset.from_list(train), processing_class=processor,
                         data_collator=CaptionCollator(processor, ClipCache(video_config)))
    use_rich_log(trainer, "align")
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    settings = {"stage": "align", "base_model": str(model), "probes": str(probe_dir), "epochs": epochs, "lr": lr,
                "batch_size": batch_size, "schedule": schedule, "video_config": asdict(video_config),
                "train_videos": len(train), "held_out_videos_left_out": len(held), "seed": seed,
                "seconds": round(seconds, 1)}
    out_dir = save_checkpoint(trainer.model, processor, out, trainer.state.log_history, settings)
    return TrainResult(out_dir=out_dir, log_history=list(trainer.state.log_history), seconds=seconds)
