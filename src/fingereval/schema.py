"""Records that cross a boundary (files, HTTP, CLI output), as pydantic models.

Data flows one way: prompt -> QuestionSet -> QuestionResult list -> VideoResult.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, ValidationError, field_validator, model_validator

from fingereval.dimensions import DIMENSION_KEYS, normalize_dimension
from fingereval.errors import DataError
from fingereval.rubric import KEY_PATTERN, Rubric, RubricRef, default_rubric
from fingereval.io import read_json, validation_message
from fingereval.text import not_utf8_message, repair_json, warn_stderr

YesNo = Literal["yes", "no"]


def normalize_yes_no(value: object) -> str:
    """'Yes', ' yes.', '"No"', True/False -> 'yes'/'no'; anything else is an error."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    text = str(value).strip().strip("\"'.!,").strip().lower()
    if text in ("yes", "no"):
        return text
    raise ValueError(f"expected yes or no, got {value!r}")


def read_dimension(value: object, context: dict | None = None) -> str:
    """A dimension's key: the rubric's in the validation context (a file read for a rubric) or else the default's;
    without a rubric, a key the default does not know is kept, for the scorer's rubric to check (fingereval.rubric)."""
    rubric = (context or {}).get("rubric")
    if rubric is not None:
        return rubric.normalize(value)
    try:
        return normalize_dimension(value)
    except DataError:
        key = "_".join(str(value).strip().lower().split())
        if re.fullmatch(KEY_PATTERN, key):
            return key
        raise


class Entity(BaseModel):
    name: str
    description: str | None = None


class Question(BaseModel):
    """One entity-level yes/no question. `good_answer` is the answer a good video earns."""

    id: str
    dimension: str
    entity: str | None = None
    text: str = Field(validation_alias=AliasChoices("text", "question"))
    good_answer: YesNo

    _ga = field_validator("good_answer", mode="before")(lambda v: normalize_yes_no(v))

    _dim = field_validator("dimension", mode="before")(lambda v, info: read_dimension(v, info.context))


class QuestionSet(BaseModel):
    prompt: str
    entities: list[Entity] = []
    questions: list[Question]
    generator: str = "user"
    # the rubric the questions were written in (name, sha256 of its content), as results record it; a file that
    # records another rubric's name than the one scoring it is refused (load); None: written by hand or before rubrics
    rubric: RubricRef | None = None

    @model_validator(mode="after")
    def _one_answer_per_question(self) -> "QuestionSet":
        # answers are matched to questions by id: two questions with one id would silently share an answer,
        # and a set with no questions has no score at all
        if not self.questions:
            raise DataError("the question set has no questions; give at least one, "
                            "or leave the questions out to have them generated from the prompt")
        seen: set[str] = set()
        for q in self.questions:
            if q.id in seen:
                raise DataError(f"question id {q.id!r} is used by two questions; give each question its own id")
            seen.add(q.id)
        return self

    def by_dimension(self, rubric: Rubric | None = None) -> dict[str, list[Question]]:
        """The questions per dimension: every dimension of the rubric (default: FingER's), in its order."""
        out: dict[str, list[Question]] = {k: [] for k in (rubric.keys if rubric else DIMENSION_KEYS)}
        for q in self.questions:
            out.setdefault(q.dimension, []).append(q)
        return out

    @classmethod
    def load(cls, path: str | Path, prompt: str | None = None, rubric: Rubric | None = None) -> "QuestionSet":
        """Read a questions file: a QuestionSet object, or a bare list of questions (needs `prompt`). Every
        question's dimension must be one of the rubric's (default: FingER's five)."""
        p = Path(path)
        hint = "write one with `fingereval questions --out`"
        # bytes that are not UTF-8 are kept (as surrogates) for repair_json below
        raw = read_json(p, "questions file", hint, encoding_errors="surrogateescape")
        raw, repaired = repair_json(raw)  # Latin-1 bytes or "\udcXX" escapes: see fingereval.text
        if repaired:
            warn_stderr(not_utf8_message(f"questions file {p}", repaired[0]))
        if isinstance(raw, list):
            raw = {"prompt": prompt or "", "questions": raw}
        if not isinstance(raw, dict):
            raise DataError(f"questions file {p}: expected a question set (an object with `questions`) or a list "
                            f"of questions, got {type(raw).__name__}; {hint}")
        rubric = rubric or default_rubric()
        _same_rubric(raw.get("rubric"), rubric, p)
        try:
            return cls.model_validate(raw, context={"rubric": rubric})
        except DataError as e:  # raised by a field validator (e.g. an unknown dimension)
            raise DataError(f"questions file {p}: {e}") from None
        except ValidationError as e:
            raise DataError(f"questions file {p}: {validation_message(e)}") from None


def _same_rubric(recorded: object, rubric: Rubric, path: Path) -> None:
    """A questions file that records another rubric (by name) than the one in use: one DataError line naming both
    (docs/rubric.md). The same rubric edited (a weight, a description) keeps its questions: its dimensions are
    still checked one by one. A record that is not {name, sha256} is left to the model's validation."""
    if not isinstance(recorded, dict) or not isinstance(recorded.get("sha256"), str):
        return
    name = str(recorded.get("name"))
    if name == rubric.name:
        return
    raise DataError(f"questions file {path} was written with the rubric {name!r} (sha256 {recorded['sha256'][:12]}), "
                    f"not with the rubric in use, {rubric.name!r} (sha256 {rubric.sha256[:12]}); give --rubric the "
                    f"rubric it was written with, or write the questions again with `fingereval questions --rubric`")


class QuestionResult(BaseModel):
    """A question with the model's answer, its reason and the score it earned."""

    id: str
    dimension: str
    entity: str | None = None
    question: str
    good_answer: YesNo
    answer: YesNo
    reason: str | None = None
    p_yes: float
    score: float
    forced_answer: bool = False  # True when the model wrote no <answer> tag and we appended one
    answer_unreadable: bool = False  # no yes and no no token among the log-probs a server returned: p_yes is 0.5


@dataclass(frozen=True)
class RawAnswer:
    """What a model said about one question, before polarity and aggregation."""

    question_id: str
    p_yes: float  # P(yes set) / (P(yes set) + P(no set)) at the answer slot
    reason: str | None = None  # the <think> text in reason mode
    forced: bool = False  # the model wrote no <answer> tag; the slot was appended
    output: str | None = None  # the raw generated text in reason mode
    answer_unreadable: bool = False  # neither a yes nor a no token was readable (p_yes is then 0.5)


class ErrorInfo(BaseModel):
    type: str
    message: str


class ImageRecord(BaseModel):
    """Image-to-video: the conditioning image a video was scored with (fingereval.image)."""

    path: str  # as the video's path is recorded (a manifest's relative to its folder; the service: the client's name)
    sha256: str  # of the image file's bytes


class VideoResult(BaseModel):
    id: str | None = None
    video: str
    prompt: str
    overall: float | None = None
    dimensions: dict[str, float | None] = {}
    questions: list[QuestionResult] = []
    model: str | None = None
    mode: Literal["direct", "reason"] | None = None
    resize: Literal["square", "keep_aspect"] | None = None  # how the frames were resized (VideoConfig.resize)
    video_truncated: bool = False  # the file ends early or is damaged: scored on its decoded part only
    video_seconds_decoded: float | None = None  # seconds of video the scores cover
    answers_unreadable: int = 0  # questions whose answer slot held no yes or no token (scored at p_yes 0.5)
    calibration: dict | None = None  # {temperature, bias, source, model} when p_yes was calibrated
    image: ImageRecord | None = None  # image-to-video: the conditioning image the model saw before the video
    rubric: RubricRef | None = None  # the rubric scored with (name, sha256 of its content); None in older files
    error: ErrorInfo | None = None

    def to_json(self) -> str:
        if self.error is not None:  # a failed item carries its error instead of scores
            return self.model_dump_json(include={"id", "video", "prompt", "model", "error"})
        return self.model_dump_json(exclude={"error"})

    def lost_points(self) -> list[QuestionResult]:
        """Questions ordered by points lost (1 - score), worst first: the explanation of the score."""
        return sorted(self.questions, key=lambda q: q.score)
