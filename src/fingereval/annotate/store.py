"""The annotation store: items, labels and adjudications in one SQLite file (WAL mode, stdlib sqlite3).

Labels are only ever appended: two annotators labelling one item at the same moment are both kept, and an
annotator who labels an item again adds a newer label (the agreement rules read each annotator's latest).
Every call opens its own short connection, so the web app's worker threads (and a second process, such
as `annotate export` while the app runs) never share one; WAL lets readers go on while a label is written.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError, field_validator

from fingereval.annotate.agreement import (ANSWERS, VERDICTS, Agreed, Label, agree, agreement_summary,
                                          latest_per_annotator)
from fingereval.data.instruct import InstructRecord
from fingereval.rubric import Rubric, default_rubric
from fingereval.errors import DataError, VideoError
from fingereval.io import LineError, absolute_from, iter_jsonl, relative_to, validation_message
from fingereval.schema import normalize_yes_no
from fingereval.video import check_video, check_video_container

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    item_id TEXT PRIMARY KEY, position INTEGER NOT NULL, record TEXT NOT NULL, video TEXT NOT NULL,
    dimension TEXT NOT NULL, reason TEXT, playable INTEGER NOT NULL, note TEXT, fps REAL);
CREATE TABLE IF NOT EXISTS labels (
    id INTEGER PRIMARY KEY AUTOINCREMENT, item_id TEXT NOT NULL REFERENCES items(item_id), annotator TEXT NOT NULL,
    answer TEXT NOT NULL, reason_verdict TEXT, reason TEXT, created REAL NOT NULL);
CREATE INDEX IF NOT EXISTS labels_by_item ON labels(item_id);
CREATE INDEX IF NOT EXISTS labels_by_annotator ON labels(annotator);
CREATE TABLE IF NOT EXISTS adjudications (
    id INTEGER PRIMARY KEY AUTOINCREMENT, item_id TEXT NOT NULL REFERENCES items(item_id), adjudicator TEXT NOT NULL,
    answer TEXT NOT NULL, reason_verdict TEXT, reason TEXT, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class AnnotateRecord(InstructRecord):
    """A FingER-Instruct record that may not have its answer yet: people are about to give it."""

    answer: str | None = None  # type: ignore[assignment]

    @field_validator("good_answer", "answer", mode="before")
    @classmethod
    def _yes_no(cls, value: object) -> str | None:  # replaces InstructRecord's, which refuses a missing answer
        return None if value is None else normalize_yes_no(value)


@dataclass(frozen=True)
class Item:
    item_id: str
    record: AnnotateRecord  # video held as an absolute path
    playable: bool = True
    note: str | None = None  # why the video will not play
    fps: float | None = None


def _item_id(record: AnnotateRecord) -> str:
    """The record's id, else one made from its video and question (so it survives lines moving in the file)."""
    if record.id:
        return record.id
    digest = hashlib.sha256(f"{record.video_key}\n{record.question}".encode()).hexdigest()[:10]
    return f"{Path(record.video).stem}-{digest}"


def read_items(path: str | Path, rubric: Rubric | None = None) -> list[AnnotateRecord]:
    """The records of a FingER-Instruct file, with or without answers and reasons; `video` made absolute; every
    dimension one of the rubric's (default: FingER's five).

    Every bad line (a line without a video among them) is refused with its line number, and nothing is
    loaded: an annotation round should not start on part of a file by accident.
    """
    # InstructRecord and the path handling of fingereval.data.instruct, but its reader needs an answer on every line
    p = Path(path)
    records, errors, seen = [], [], {}
    for lineno, row in iter_jsonl(p, "annotation data file", hint="give a FingER-Instruct JSONL file"):
        if isinstance(row, LineError):
            errors.append(row)
            continue
        try:
            record = AnnotateRecord.model_validate(row, context={"rubric": rubric or default_rubric()})
        except ValidationError as e:
            errors.append(LineError(p, lineno, validation_message(e) + "; fix or remove the line"))
            continue
        record.video = absolute_from(record.video, p.parent)
        if record.image is not None:  # image-to-video: the conditioning image, found as the video is
            record.image = absolute_from(record.image, p.parent)
        record.id = _item_id(record)
        if record.id in (".", ".."):  # a browser resolves such a path segment away, whatever the quoting
            errors.append(LineError(p, lineno, f"item id {record.id!r} cannot be part of a URL; give it another id"))
            continue
        if record.id in seen:
            errors.append(LineError(p, lineno, f"item {record.id!r} repeats line {seen[record.id]} (same id, or same "
                                               "video and question); give it its own id or remove it"))
            continue
        seen[record.id] = lineno
        records.append(record)
    if errors:
        more = f" (and {len(errors) - 1} more bad lines)" if len(errors) > 1 else ""
        raise DataError(f"{errors[0]}{more}; nothing was loaded")
    if not records:
        raise DataError(f"annotation data file {p} has no records; give a FingER-Instruct JSONL file")
    return records


def probe_video(path: str | Path) -> float | None:
    """The video's frame rate (None when it does not say), after decoding its first frame: it plays.
    Raises VideoError with a one-line reason otherwise (VideoFormatError for a file that is not an allowed
    video container: fingereval.video.check_video_container decides, for the app as for scoring)."""
    import av

    check_video(path)  # the container gate and a video stream
    try:
        # opened as the demuxer the gate chose from the bytes, so the file's name cannot pick another one
        with av.open(str(path), format=check_video_container(path).split(",")[0]) as container:
            stream = container.streams.video[0]
            for _ in container.decode(stream):
                rate = stream.average_rate or stream.guessed_rate
                return float(rate) if rate else None
    except av.error.FFmpegError as e:
        raise VideoError(f"{path}: cannot decode its first frame ({e.__class__.__name__}); re-encode it") from None
    raise VideoError(f"{path}: contains no frames; re-encode it")


def probe_items(records: Sequence[AnnotateRecord]) -> list[Item]:
    """Items with each distinct video probed once; one that will not play is marked, with the reason."""
    probed: dict[str, tuple[float | None, str | None]] = {}
    items = []
    for record in records:
        if record.video not in probed:
            try:
                probed[record.video] = (probe_video(record.video), None)
            except VideoError as e:
                probed[record.video] = (None, f"{e}; the item is skipped")
        fps, note = probed[record.video]
        items.append(Item(record.id, record, playable=note is None, note=note, fps=fps))
    return items


def _label(row: sqlite3.Row) -> Label:
    return Label(row["item_id"], row["annotator"], row["answer"], row["reason_verdict"], row["reason"])


def check_label(label: Label, has_reason: bool) -> None:
    """A label the rules can read, or ValueError saying what is wrong."""
    if label.answer not in ANSWERS:
        raise ValueError(f"answer must be yes or no, got {label.answer!r}")
    if label.reason_verdict not in (None, *VERDICTS):
        raise ValueError(f"reason_verdict must be accept, reject, edit or null, got {label.reason_verdict!r}")
    if label.reason_verdict is not None and not has_reason:
        raise ValueError(f"item {label.item_id!r} has no reason to check: send reason_verdict null")
    if label.reason_verdict == "edit" and not (label.reason or "").strip():
        raise ValueError("reason_verdict edit needs the edited reason in `reason`")
    if not label.annotator.strip():
        raise ValueError("annotator must not be empty")


class AnnotationStore:
    """One SQLite file of items, labels and adjudications."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with self._connect() as db:
                db.execute("PRAGMA journal_mode=WAL")  # kept by the file: readers do not wait for a writer
                db.executescript(SCHEMA)
        except sqlite3.DatabaseError as e:
            raise DataError(f"{self.path} is not an annotation database ({e}); give the --db that "
                            "`fingereval annotate serve` wrote, or a new file name") from None

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30.0)
        db.row_factory = sqlite3.Row
        try:
            with db:  # one transaction: committed on success, rolled back on an error
                yield db
        finally:
            db.close()

    # ---- items ----

    def add_items(self, items: Sequence[Item], data_path: str | Path | None = None) -> int:
        """Add items the store does not hold yet (an item id already there keeps its labels); returns how many."""
        with self._connect() as db:
            start = db.execute("SELECT COALESCE(MAX(position), -1) + 1 FROM items").fetchone()[0]
            added = 0
            for item in items:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (item.item_id, start + added, item.record.model_dump_json(), item.record.video,
                     item.record.dimension, item.record.reason, int(item.playable), item.note, item.fps))
                added += cursor.rowcount
            if data_path is not None:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('data_folder', ?)",
                           (str(Path(data_path).absolute().parent),))
        return added

    def new_ids(self, ids: Sequence[str]) -> set[str]:
        """Those of `ids` the store does not hold (so only new items' videos get probed)."""
        with self._connect() as db:
            known = {row[0] for row in db.execute("SELECT item_id FROM items")}
        return set(ids) - known

    def data_folder(self) -> Path | None:
        with self._connect() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'data_folder'").fetchone()
        return Path(row[0]) if row else None

    def item(self, item_id: str) -> Item | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM items WHERE item_id = ?", (item_id,)).fetchone()
        return None if row is None else self._item(row)

    @staticmethod
    def _item(row: sqlite3.Row) -> Item:
        return Item(row["item_id"], AnnotateRecord.model_validate_json(row["record"]), bool(row["playable"]),
                    row["note"], row["fps"])

    def items(self) -> list[Item]:
        with self._connect() as db:
            return [self._item(row) for row in db.execute("SELECT * FROM items ORDER BY position")]

    def skipped(self) -> list[Item]:
        return [item for item in self.items() if not item.playable]

    # ---- labels ----

    def add_label(self, label: Label) -> int:
        """Append a label (KeyError if the item is unknown, ValueError if it is skipped or the label malformed)."""
        return self._append("labels", "annotator", label)

    def add_adjudication(self, label: Label) -> int:
        """Append an adjudication; `label.annotator` is the adjudicator. The latest one decides."""
        return self._append("adjudications", "adjudicator", label)

    def _append(self, table: str, who: str, label: Label) -> int:
        item = self.item(label.item_id)
        if item is None:
            raise KeyError(f"no item {label.item_id!r} in {self.path}")
        if not item.playable:
            raise ValueError(f"item {label.item_id!r} is skipped: {item.note}")
        check_label(label, has_reason=bool(item.record.reason))
        reason = label.reason if label.reason_verdict == "edit" else None
        with self._connect() as db:
            cursor = db.execute(
                f"INSERT INTO {table} (item_id, {who}, answer, reason_verdict, reason, created) VALUES (?, ?, ?, ?, ?, ?)",
                (label.item_id, label.annotator, label.answer, label.reason_verdict, reason, time.time()))
            return int(cursor.lastrowid)

    def labels(self, item_id: str | None = None) -> list[Label]:
        """Labels oldest first (of one item, or all)."""
        query, args = "SELECT * FROM labels ORDER BY id", ()
        if item_id is not None:
            query, args = "SELECT * FROM labels WHERE item_id = ? ORDER BY id", (item_id,)
        with self._connect() as db:
            return [_label(row) for row in db.execute(query, args)]

    def adjudications(self) -> dict[str, Label]:
        """item -> its latest adjudication."""
        with self._connect() as db:
            rows = db.execute("SELECT *, adjudicator AS annotator FROM adjudications ORDER BY id").fetchall()
        return {row["item_id"]: _label(row) for row in rows}

    # ---- what an annotator does next ----

    def next_item(self, annotator: str, per_item: int) -> Item | None:
        """The first playable item, in file order, this annotator has not labelled and fewer than `per_item`
        annotators have: where they left off, and items others started are finished before new ones."""
        with self._connect() as db:
            row = db.execute(
                """SELECT items.* FROM items
                   WHERE playable = 1
                     AND item_id NOT IN (SELECT item_id FROM labels WHERE annotator = ?)
                     AND (SELECT COUNT(DISTINCT annotator) FROM labels WHERE labels.item_id = items.item_id) < ?
                   ORDER BY position LIMIT 1""", (annotator, per_item)).fetchone()
        return None if row is None else self._item(row)

    def progress(self, annotator: str, per_item: int) -> dict:
        """{"done": items this annotator labelled, "left": items still open to them, "total", "skipped"}."""
        with self._connect() as db:
            done = db.execute("SELECT COUNT(DISTINCT item_id) FROM labels WHERE annotator = ?", (annotator,)).fetchone()[0]
            left = db.execute(
                """SELECT COUNT(*) FROM items WHERE playable = 1
                     AND item_id NOT IN (SELECT item_id FROM labels WHERE annotator = ?)
                     AND (SELECT COUNT(DISTINCT annotator) FROM labels WHERE labels.item_id = items.item_id) < ?""",
                (annotator, per_item)).fetchone()[0]
            total, playable = db.execute("SELECT COUNT(*), COALESCE(SUM(playable), 0) FROM items").fetchone()
        return {"done": done, "left": left, "total": total, "skipped": total - playable}

    # ---- agreement and export ----

    def _labels_by_item(self) -> dict[str, list[Label]]:
        by_item: dict[str, list[Label]] = {}
        for label in self.labels():
            by_item.setdefault(label.item_id, []).append(label)
        return by_item

    def agreed(self) -> list[tuple[Item, Agreed]]:
        """(item, agreed answer and reason) for every item whose annotators agree or that was adjudicated."""
        by_item, decided = self._labels_by_item(), self.adjudications()
        out = []
        for item in self.items():
            if not item.playable:
                continue
            result = agree(by_item.get(item.item_id, []), item.record.reason, decided.get(item.item_id))
            if result is not None:
                out.append((item, result))
        return out

    def disagreements(self) -> list[tuple[Item, list[Label]]]:
        """Items two or more annotators labelled with different answers, and no adjudication yet."""
        by_item, decided = self._labels_by_item(), self.adjudications()
        out = []
        for item in self.items():
            latest = latest_per_annotator(by_item.get(item.item_id, []))
            if item.item_id not in decided and len({label.answer for label in latest}) > 1:
                out.append((item, latest))
        return out

    def agreement(self) -> dict:
        dimension_of = {item.item_id: item.record.dimension for item in self.items()}
        return agreement_summary(self.labels(), dimension_of)

    def export_records(self) -> list[InstructRecord]:
        """FingER-Instruct records of the agreed and adjudicated items: the agreed answer and the accepted or
        edited reason (no reason when it was rejected)."""
        records = []
        for item, result in self.agreed():
            row = item.record.model_dump(mode="json")
            row.update(answer=result.answer, reason=result.reason)
            records.append(InstructRecord.model_validate(row))
        return records

    def export_lines(self, folder: str | Path) -> list[str]:
        """`export_records` as JSON lines, `video` (and `image`) relative to `folder` (as write_instruct writes
        them)."""
        rows, where = [], Path(folder).absolute()
        for record in self.export_records():
            row = record.model_dump(mode="json", exclude_none=True)
            row["video"] = relative_to(record.video, where)
            if record.image is not None:
                row["image"] = relative_to(record.image, where)
            rows.append(json.dumps(row, ensure_ascii=False))
        return rows


def open_store(db: str | Path, data: str | Path | None = None,
               rubric: Rubric | None = None) -> tuple[AnnotationStore, list[Item]]:
    """The store at `db`, with the items of `data` added (new ones' videos probed); returns the store and the
    newly added items that were skipped because their video will not play."""
    store = AnnotationStore(db)
    if data is None:
        return store, []
    records = read_items(data, rubric)
    new = store.new_ids([r.id for r in records])
    items = probe_items([r for r in records if r.id in new])
    store.add_items(items, data_path=data)
    return store, [item for item in items if not item.playable]


__all__ = ["AnnotateRecord", "AnnotationStore", "Item", "open_store", "probe_video", "read_items"]
