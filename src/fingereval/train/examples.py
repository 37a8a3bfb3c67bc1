"""Training examples (one question about one video, with its true answer) and the decoded-clip cache.

Both trainers read FingER-Instruct JSONL (fingereval.data.instruct) or records already in memory, and
keep only what training needs as flat rows: `video` (absolute path), `question`, `answer`, `reason`.
Flat rows keep Arrow from inventing keys: a `datasets.Dataset` of chat messages gives every content
part every key (`"video": None` on text parts), which Qwen's chat template renders as extra videos.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from pathlib import Path

from fingereval.data.instruct import InstructRecord, load_instruct
from fingereval.errors import DataError
from fingereval.schema import normalize_yes_no
from fingereval.video import VideoClip, VideoConfig, load_video

TrainData = str | Path | Iterable[InstructRecord | Mapping]


def _row(record: InstructRecord | Mapping) -> dict:
    raw = record.model_dump() if isinstance(record, InstructRecord) else dict(record)
    try:
        video, question = str(raw["video"]), str(raw["question"])
        answer = normalize_yes_no(raw["answer"])
    except KeyError as e:
        raise DataError(f"training record {raw.get('id', '?')}: missing field {e.args[0]!r}") from None
    except ValueError as e:
        raise DataError(f"training record {raw.get('id', '?')}: {e}") from None
    reason = raw.get("reason")
    return {"video": video, "question": question, "answer": answer,
            "reason": str(reason).strip() if reason and str(reason).strip() else None}


def training_rows(data: TrainData) -> list[dict]:
    """Flat rows {video, question, answer, reason} from a JSONL path, records, or dicts."""
    records = load_instruct(data) if isinstance(data, (str, Path)) else data
    rows = [_row(r) for r in records]
    if not rows:
        raise DataError("no training records: the data file or list is empty")
    return rows


def without_none(row: Mapping) -> dict:
    """Drop keys whose value is None (Arrow gives every row every column, None where absent)."""
    return {k: v for k, v in row.items() if v is not None}


class ClipCache:
    """Decodes each video once and keeps the sampled frames in memory, up to `max_bytes`.

    Every question of a video, in every epoch, reuses the same frames (a 112-px probe clip of 8 frames
    is 0.3 MB). Past `max_bytes` the least recently used clips are dropped and decoded again when next
    asked for, so a large real dataset does not exhaust memory.
    """

    def __init__(self, config: VideoConfig, max_bytes: int = 2 << 30):
        self.config = config
        self.max_bytes = max_bytes
        self._clips: OrderedDict[str, VideoClip] = OrderedDict()
        self._bytes = 0
        self.decoded = 0  # how many times a video was decoded (tests check the cache works)

    def __call__(self, path: str | Path) -> VideoClip:
        key = str(path)
        clip = self._clips.get(key)
        if clip is not None:
            self._clips.move_to_end(key)
            return clip
        clip = load_video(key, self.config)
        self.decoded += 1
        self._clips[key] = clip
        self._bytes += clip.frames.nbytes
        while self._bytes > self.max_bytes and len(self._clips) > 1:
            _, old = self._clips.popitem(last=False)
            self._bytes -= old.frames.nbytes
        return clip

    def __len__(self) -> int:
        return len(self._clips)
