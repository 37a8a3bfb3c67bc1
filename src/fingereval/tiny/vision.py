"""Pretrain a checkpoint's vision tower on per-video scene labels, before it ever sees a question.

A real evaluator starts from an MLLM whose vision encoder was pretrained on huge data; our tiny stand-in
starts from random weights. Its random vision tower gives nearly the same tokens for every probe video
(most patches are background), and a random language model does not learn to pick the few telling
tokens out within a CPU budget: SFT alone stayed at chance (docs/tiny-model.md). So we
pretrain the tower the way encoders are pretrained: a linear head on its mean-pooled output predicts
the video's scene labels (colours, shapes, blur, noise, changes, motion; fingereval.probes.scene) of
the training videos only. The language model is not touched, so the model still answers questions at
chance; only the head is thrown away. A plain torch loop: the tower runs alone, without text, which
TRL's trainers do not cover.
"""
from __future__ import annotations

import random
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from fingereval.answer.hf_compat import vision_tower
from fingereval.answer.inputs import video_pixels
from fingereval.errors import DataError
from fingereval.io import LineError, iter_jsonl, read_jsonl
from fingereval.probes.make import HELD_OUT_FILE, SCENES_FILE
from fingereval.probes.scene import SCENE_LABELS
from fingereval.train.checkpoint import load_for_training, save_checkpoint
from fingereval.train.examples import ClipCache
from fingereval.video import VideoConfig

PIXEL_CACHE_BYTES = 2 << 30  # a 112-px, 8-frame probe clip is about 1.2 MB of processed pixels
# A low-resolution copy of a training video (`low_res`): its frames shrunk by a factor in this range, then brought
# back to the input size, as a video made or re-encoded at a lower resolution reaches the model. Tried in the demo
# at share 0.5 (docs/demo.md, "Tried, not shipped"): half-resolution flips fell on one seed of three and rose on
# another, so the demo does not use it.
LOW_RES_SCALES = (0.4, 0.75)


def low_res_copy(frames: np.ndarray, scale: float) -> np.ndarray:
    """`frames` (T, H, W, 3 uint8) shrunk by `scale` (area average) and brought back to (H, W) (bilinear)."""
    height, width = frames.shape[1:3]
    small = (max(2, round(width * scale)), max(2, round(height * scale)))
    return np.stack([np.asarray(Image.fromarray(f).resize(small, Image.Resampling.BOX)
                                .resize((width, height), Image.Resampling.BILINEAR)) for f in frames])


def low_res_scale(path: str, seed: int) -> float:
    """The video's one shrink factor (fixed per video and seed, so its processed copy can be cached)."""
    low, high = LOW_RES_SCALES
    return low + (high - low) * (zlib.crc32(f"{seed}:{path}".encode()) / 0xFFFFFFFF)


@dataclass
class VisionResult:
    out_dir: Path
    seconds: float
    held_out_accuracy: float | None  # mean over labels of balanced accuracy on held-out videos (0.5 = chance)
    per_label: dict[str, float] = field(default_factory=dict)
    log: list[dict] = field(default_factory=list)


def scene_rows(probe_dir: Path) -> tuple[list[dict], list[dict]]:
    """(train, held-out) rows {video: absolute path, labels, target: 0/1 tensor}; held out = the videos in qa_heldout.jsonl."""
    path = probe_dir / SCENES_FILE
    if not path.exists():
        raise DataError(f"{probe_dir} has no {SCENES_FILE}; make probes with `fingereval probes make {probe_dir} --n 200`")
    held_path = probe_dir / HELD_OUT_FILE
    held = {row["video"] for _, row in read_jsonl(held_path, "held-out set")} if held_path.exists() else set()
    train, test = [], []
    for n, row in iter_jsonl(path, "scene labels"):
        if isinstance(row, LineError):
            raise LineError(path, n, f"not a scene row: {row.reason}")
        try:
            unknown = set(row["labels"]) - set(SCENE_LABELS)
        except (KeyError, TypeError) as e:
            raise LineError(path, n, f"not a scene row ({e}); each line is {{\"video\": ..., \"labels\": [...]}}") from None
        if unknown:
            raise LineError(path, n, f"unknown scene labels {sorted(unknown)}; remake the probes")
        target = torch.tensor([float(label in row["labels"]) for label in SCENE_LABELS])
        (test if row["video"] in held else train).append({"video": str(probe_dir / row["video"]), "labels": row["labels"],
                                                          "target": target})
    if not train:
        raise DataError(f"{path}: no training videos (every video is held out)")
    return train, test


def pooled_videos(tower: torch.nn.Module, videos: list[tuple[torch.Tensor, torch.Tensor]], device: str) -> torch.Tensor:
    """Mean of each video's RMS-normalised tower tokens (the LM's RMSNorm view), one row per (pixels, grid) video.

    One tower call for the whole batch: the tower keeps videos apart by grid_thw, and one call is about 2.5x
    faster on CPU than one call per video.
    """
    values, grids = zip(*videos)
    grid = torch.cat(grids)
    tokens = tower(torch.cat(values).to(device, next(tower.parameters()).dtype), grid_thw=grid.to(device)).pooler_output
    tokens = tokens / tokens.float().pow(2).mean(-1, keepdim=True).sqrt().to(tokens.dtype)
    per_video = (grid.prod(-1) // tower.spatial_merge_size ** 2).tolist()
    return torch.stack([t.mean(0) for t in tokens.split(per_video)]).float()


class PixelCache:
    """Each video's processed pixels (and its low-resolution copy's, when asked for), kept while they fit in
    PIXEL_CACHE_BYTES, else processed again when asked."""

    def __init__(self, processor, clips: ClipCache, seed: int = 0):
        self.processor, self.clips, self.seed = processor, clips, seed
        self.limit = PIXEL_CACHE_BYTES  # read when a run starts, so a test can bound it
        self.pixels: dict[tuple[str, bool], tuple[torch.Tensor, torch.Tensor]] = {}
        self.cached_bytes = 0

    def clip(self, path: str, low_res: bool):
        """The video's clip, or its low-resolution copy."""
        clip = self.clips(path)
        return replace(clip, frames=low_res_copy(clip.frames, low_res_scale(path, self.seed))) if low_res else clip

    def __call__(self, path: str, low_res: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        key = (path, low_res)
        values, grid = self.pixels.get(key) or video_pixels(self.processor, self.clip(path, low_res))
        if key not in self.pixels and self.cached_bytes + values.nbytes <= self.limit:
            self.pixels[key] = (values, grid)
            self.cached_bytes += values.nbytes
        return values, grid


@dataclass
class SceneProbe:
    """The vision tower with a linear head on its pooled output, predicting a video's scene labels."""

    tower: torch.nn.Module
    head: torch.nn.Linear
    pixels: PixelCache
    device: str
    batch_size: int

    def logits(self, paths: list[str], low_res: list[bool] | None = None) -> torch.Tensor:
        """`low_res[i]`: video i is seen as its low-resolution copy."""
        low_res = low_res or [False] * len(paths)
        return self.head(pooled_videos(self.tower, [self.pixels(p, low) for p, low in zip(paths, low_res)], self.device))

    @torch.no_grad()
    def balanced_accuracy(self, rows: list[dict]) -> dict[str, float]:
        """Balanced accuracy per label (mean of the hit rates on videos with and without it; 0.5 = chance)."""
        self.tower.eval()
        said = torch.cat([(self.logits([r["video"] for r in rows[i:i + self.batch_size]]) > 0).float().cpu()
                          for i in range(0, len(rows), self.batch_size)])
        self.tower.train()
        truth = torch.stack([row["target"] for row in rows])
        hit_pos = ((said == 1) & (truth == 1)).sum(0) / truth.sum(0).clamp(min=1)
        hit_neg = ((said == 0) & (truth == 0)).sum(0) / (1 - truth).sum(0).clamp(min=1)
        has_both = (truth.sum(0) > 0) & (truth.sum(0) < len(rows))
        return {label: round(float((p + n) / 2), 4) for label, p, n, ok in zip(SCENE_LABELS, hit_pos, hit_neg, has_both) if ok}

    def train_epoch(self, rows: list[dict], opt: torch.optim.Optimizer, pos_weight: torch.Tensor,
                    low_res: list[bool] | None = None) -> float:
        """One pass over `rows` (in their order) in batches; the mean loss. `low_res[i]`: row i is seen as its
        low-resolution copy, with the same labels."""
        low_res = low_res or [False] * len(rows)
        losses = []
        for i in range(0, len(rows), self.batch_size):
            batch = rows[i:i + self.batch_size]
            target = torch.stack([r["target"] for r in batch]).to(self.device)
            logits = self.logits([r["video"] for r in batch], low_res[i:i + self.batch_size])
            loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, pos_weight=pos_weight)
            loss.backward()
            opt.step()
            opt.zero_grad()
            losses.append(loss.item())
        return sum(losses) / len(losses)


def positive_weight(rows: list[dict], device: str) -> torch.Tensor:
    """Per label, negatives / positives (at most 20): rare labels (blur is on one video in eight) would
    otherwise be learned as "never"."""
    positives = torch.stack([r["target"] for r in rows]).sum(0)
    return ((len(rows) - positives) / positives.clamp(min=1)).clamp(max=20).to(device)


def pretrain_vision(model: str | Path, probe_dir: str | Path, out_dir: str | Path, *, epochs: int = 6, lr: float = 1e-3,
                    batch_size: int = 16, video_config: VideoConfig | None = None, seed: int = 0, low_res: float = 0.0,
                    device: str | None = None, on_log: Callable[[str], None] = print) -> VisionResult:
    """Train `model`'s vision tower (and merger) on the probe set's scene labels; save the whole checkpoint.

    `low_res`: the share of training draws, each epoch, that see the video's low-resolution copy (low_res_copy)."""
    if not 0.0 <= low_res <= 1.0:
        raise DataError(f"low_res is a share of training videos, between 0 and 1; got {low_res}")
    torch.manual_seed(seed)
    rng = random.Random(seed)
    probe_dir = Path(probe_dir)
    train, test = scene_rows(probe_dir)
    net, processor, device = load_for_training(model, device)
    tower = vision_tower(net)
    head = torch.nn.Linear(net.config.text_config.hidden_size, len(SCENE_LABELS), device=device)
    opt = torch.optim.AdamW(list(tower.parameters()) + list(head.parameters()), lr=lr)
    pos_weight = positive_weight(train, device)
    clips = ClipCache(video_config or VideoConfig(fps=2.0, max_frames=8, size=112))
    probe = SceneProbe(tower, head, PixelCache(processor, clips, seed), device, batch_size)

    t0 = time.perf_counter()
    log: list[dict] = []
    per_label: dict[str, float] = {}
    for epoch in range(1, epochs + 1):
        rng.shuffle(train)
        draws = [rng.random() < low_res for _ in train] if low_res else None  # no draw: old runs' order stays
        entry = {"epoch": epoch, "loss": round(probe.train_epoch(train, opt, pos_weight, draws), 4),
                 "seconds": round(time.perf_counter() - t0, 1)}
        if test:
            per_label = probe.balanced_accuracy(test)
            entry["held_out_accuracy"] = round(sum(per_label.values()) / len(per_label), 4)
        log.append(entry)
        on_log(f"vision epoch {epoch}/{epochs}: loss {entry['loss']:.4f}"
               + (f", held-out balanced label accuracy {entry['held_out_accuracy']:.3f}" if test else ""))
    seconds = time.perf_counter() - t0
    settings = {"stage": "vision", "base_model": str(model), "probes": str(probe_dir), "epochs": epochs, "lr": lr,
                "low_res": low_res, "low_res_scales": LOW_RES_SCALES if low_res else None,
                "batch_size": batch_size, "train_videos": len(train), "held_out_videos": len(test), "seed": seed,
                "seconds": round(seconds, 1), "held_out_per_label": per_label}
    out = save_checkpoint(net, processor, out_dir, log, settings)
    mean = round(sum(per_label.values()) / len(per_label), 4) if per_label else None
    return VisionResult(out_dir=out, seconds=seconds, held_out_accuracy=mean, per_label=per_label, log=log)
