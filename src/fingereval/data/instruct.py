"""FingER-Instruct records: one yes/no question about one video, with its true answer and a reason.

A file is JSON Lines, one record per question:

    {"id": "p0003-q2", "video_id": "p0003", "video": "videos/p0003.mp4", "prompt": "...",
     "dimension": "visual_quality", "entity": "red ball", "question": "...",
     "good_answer": "yes", "answer": "no", "reason": "..."}

`video` is stored relative to the file's folder (so a dataset folder can be moved or copied as a
whole) and held as an absolute path once loaded. Fields we do not know are kept and written back.
An image-to-video record may name its conditioning image, `"image": "first/p0003.png"`, stored and loaded as
`video` is (docs/scoring.md, "Image-to-video").

`instruct_from_results` turns scored videos (`fingereval score --out`) into such records for people to check
(`fingereval export RESULTS --to instruct`, docs/annotate.md): the model's answer and reason are the answer and
the reason to check, and the model's own say is kept beside them (`model`, `model_answer`, `model_p_yes`,
and the name of the rubric it was scored with, `rubric`).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Literal, overload

from pydantic import BaseModel, ConfigDict, ValidationError, ValidationInfo, field_validator

from fingereval.data.split import split_videos
from fingereval.errors import DataError
from fingereval.io import LineError, absolute_from, iter_jsonl, relative_to, validation_message, write_jsonl
from fingereval.rubric import Rubric, default_rubric
from fingereval.schema import Question, QuestionResult, VideoResult, read_dimension
from fingereval.schema import YesNo, normalize_yes_no
from fingereval.text import not_utf8_message, repair_json


class InstructRecord(BaseModel):
    model_config = ConfigDict(extra="allow")  # keep extra fields (e.g. a probe's question form)

    video: str
    prompt: str
    dimension: str
    question: str
    good_answer: YesNo
    answer: YesNo
    entity: str | None = None
    reason: str | None = None
    id: str | None = None
    video_id: str | None = None
    image: str | None = None  # image-to-video: the conditioning image; a path as `video`'s

    @field_validator("dimension", mode="before")
    @classmethod
    def _dimension(cls, value: object, info: ValidationInfo) -> str:
        # a file is read for a rubric (load_instruct's); records built in code keep a key of their own rubric
        try:
            return read_dimension(value, info.context)
        except DataError as e:  # pydantic only turns ValueError into a field error
            raise ValueError(str(e)) from None

    @field_validator("good_answer", "answer", mode="before")
    @classmethod
    def _yes_no(cls, value: object) -> str:
        return normalize_yes_no(value)

    @property
    def video_key(self) -> str:
        """What identifies the video across files and folders: its id, else its file name."""
        return self.video_id or Path(self.video).name


def _parse_row(path: Path, lineno: int, raw: dict, rubric: Rubric | None = None) -> InstructRecord | LineError:
    try:
        record = InstructRecord.model_validate(raw, context={"rubric": rubric or default_rubric()})
    except ValidationError as e:
        return LineError(path, lineno, validation_message(e))
    record.video = absolute_from(record.video, path.parent)
    if record.image is not None:
        record.image = absolute_from(record.image, path.parent)
    return record


@overload
def load_instruct(path: str | Path, skip_bad: Literal[False] = False,
                  rubric: Rubric | None = None) -> list[InstructRecord]: ...
@overload
def load_instruct(path: str | Path, skip_bad: Literal[True],
                  rubric: Rubric | None = None) -> tuple[list[InstructRecord], list[DataError]]: ...


def load_instruct(path: str | Path, skip_bad: bool = False, rubric: Rubric | None = None):
    """Read a FingER-Instruct JSONL file; `video` paths come back absolute; every dimension one of the rubric's
    (default: FingER's five).

    A bad line raises DataError naming the file and line. With `skip_bad=True` bad lines are
    collected instead and `(records, errors)` is returned, so a batch tool can report and go on.
    """
    p = Path(path)
    records: list[InstructRecord] = []
    errors: list[DataError] = []
    for lineno, row in iter_jsonl(p, "instruct file", hint="give a FingER-Instruct JSONL file, one question a line"):
        item = row if isinstance(row, LineError) else _parse_row(p, lineno, row, rubric)
        if isinstance(item, LineError):
            if not skip_bad:
                raise item
            errors.append(item)
        else:
            records.append(item)
    return (records, errors) if skip_bad else records


def write_instruct(path: str | Path, records: Iterable[InstructRecord]) -> Path:
    """Write records as JSONL, with `video` (and `image`) relative to the output file's folder."""
    p = Path(path)
    folder = p.parent.absolute()
    rows = []
    for record in records:
        row = record.model_dump(mode="json", exclude_none=True)
        row["video"] = relative_to(record.video, folder)
        if record.image is not None:
            row["image"] = relative_to(record.image, folder)
        rows.append(row)
    return write_jsonl(p, rows)


def group_by_video(records: Iterable[InstructRecord]) -> dict[str, list[InstructRecord]]:
    """{video path: its records}, videos in order of first appearance, records in file order."""
    groups: dict[str, list[InstructRecord]] = {}
    for record in records:
        groups.setdefault(record.video, []).append(record)
    return groups


def split_by_video(
    records: Iterable[InstructRecord], held_out: float = 0.2, seed: int = 0
) -> tuple[list[InstructRecord], list[InstructRecord]]:
    """(train, held_out) with every video's records on one side only, by the rule of fingereval.data.split
    (videos ranked by a seeded hash of their id, the train side never empty)."""
    groups = group_by_video(records)
    _, held_videos = split_videos(groups, held_out, seed, key=lambda video: groups[video][0].video_key)
    train = [r for video, rs in groups.items() if video not in held_videos for r in rs]
    held = [r for video, rs in groups.items() if video in held_videos for r in rs]
    return train, held


def instruct_questions(records: Sequence[InstructRecord]) -> list[Question]:
    """The questions of FingER-Instruct records, as an answerer takes them (ids kept or numbered)."""
    return [Question(id=r.id or f"q{i}", dimension=r.dimension, entity=r.entity, text=r.question,
                     good_answer=r.good_answer) for i, r in enumerate(records)]


def _record_id(video_id: str, model: str | None, question: QuestionResult, several_models: bool,
               taken: set[str]) -> str:
    """`<video id>-<question id>` (the model's name between them when several models scored the videos), made
    unique: the annotation app refuses a file with one id twice, and a result from elsewhere may repeat ids."""
    base = f"{video_id}-{model}-{question.id}" if several_models else f"{video_id}-{question.id}"
    made, n = base, 1
    while made in taken:
        n += 1
        made = f"{base}-{n}"
    taken.add(made)
    return made


def _question_row(result: VideoResult, video_id: str, video: Path, image: Path | None, q: QuestionResult,
                  record_id: str) -> dict:
    return {"id": record_id, "video_id": video_id, "video": str(video), "image": None if image is None else str(image),
            "prompt": result.prompt,
            "dimension": q.dimension, "entity": q.entity, "question": q.question, "good_answer": q.good_answer,
            "answer": q.answer, "reason": q.reason or None, "question_id": q.id, "model": result.model,
            "model_answer": q.answer, "model_p_yes": q.p_yes, "rubric": result.rubric.name if result.rubric else None}


def instruct_from_results(results: Sequence[tuple[VideoResult, Path] | tuple[VideoResult, Path, Path | None]],
                          on_warning: Callable[[str], None]) -> list[InstructRecord]:
    """One record per question of every scored video: (result, where its video is now[, where its conditioning
    image is now]) in, the records out; an image-to-video result's records name its image (`image`).

    The result's text is untrusted: it goes into the records as data (JSON-escaped when written), bytes that
    were not UTF-8 are read by fingereval.text's policy with one warning, and a question whose fields do not
    make a record (a dimension that is not a key, say) is left out with a warning naming it. A failed video has no
    answers to check: it is left out with a warning."""
    several_models = len({r[0].model for r in results}) > 1
    taken: set[str] = set()
    records: list[InstructRecord] = []
    for result, video, *image in results:
        image = image[0] if image else None
        video_id = result.id or Path(result.video.replace("\\", "/")).name
        if result.error is not None:
            on_warning(f"video {video_id!r} failed to score ({result.error.type}): no answers to check; left out")
            continue
        repaired_once = False
        for q in result.questions:
            row, repaired = repair_json(_question_row(result, video_id, video, image, q,
                                                      _record_id(video_id, result.model, q, several_models, taken)))
            if repaired and not repaired_once:
                on_warning(not_utf8_message(f"the result of video {row['video_id']!r}", repaired[0]))
                repaired_once = True
            try:
                records.append(InstructRecord.model_validate({k: v for k, v in row.items() if v is not None}))
            except ValidationError as e:
                on_warning(f"video {row['video_id']!r} question {row['question_id']!r}: {validation_message(e)}; "
                           "left out")
    return records
