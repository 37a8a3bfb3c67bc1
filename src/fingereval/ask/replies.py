"""Validate the JSON a chat model returns for the two steps (entities, then questions)."""
from __future__ import annotations

import json
import re
from typing import Any, TypeVar

from pydantic import AliasChoices, BaseModel, Field, ValidationError, ValidationInfo, field_validator, model_validator

from fingereval.errors import DataError
from fingereval.rubric import default_rubric
from fingereval.io import validation_message
from fingereval.schema import Entity, YesNo, normalize_yes_no


class ReplyError(ValueError):
    """A reply that is not the JSON we asked for; the message is sent back to the model on retry."""


class EntitiesReply(BaseModel):
    entities: list[Entity] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _accept_shortcuts(cls, data: Any) -> Any:
        # Models often answer with a bare list, or with plain strings instead of objects.
        if isinstance(data, list):
            data = {"entities": data}
        if isinstance(data, dict) and isinstance(data.get("entities"), list):
            data = {**data, "entities": [{"name": e} if isinstance(e, str) else e for e in data["entities"]]}
        return data

    @field_validator("entities")
    @classmethod
    def _names_not_empty(cls, entities: list[Entity]) -> list[Entity]:
        for e in entities:
            if not e.name.strip():
                raise ValueError("an entity has an empty name")
        return entities


class DraftQuestion(BaseModel):
    """A question before it gets its id; also what the template generator produces."""

    dimension: str
    entity: str | None = None
    text: str = Field(min_length=3, validation_alias=AliasChoices("question", "text"))
    good_answer: YesNo

    @field_validator("dimension", mode="before")
    @classmethod
    def _dimension(cls, value: Any, info: ValidationInfo) -> str:
        # a model's reply is read for a rubric (the context's); the template generator writes the rubric's keys
        rubric = (info.context or {}).get("rubric")
        if rubric is None:
            return value
        try:
            return rubric.normalize(value)
        except DataError as e:  # pydantic reports only ValueErrors as validation errors
            raise ValueError(str(e)) from None

    @field_validator("good_answer", mode="before")
    @classmethod
    def _good_answer(cls, value: Any) -> str:
        return normalize_yes_no(value)

    @field_validator("entity", mode="before")
    @classmethod
    def _entity(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in ("", "null", "none"):
            return None
        return value


class QuestionsReply(BaseModel):
    questions: list[DraftQuestion] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _accept_bare_list(cls, data: Any) -> Any:
        return {"questions": data} if isinstance(data, list) else data

    @model_validator(mode="after")
    def _all_dimensions_covered(self, info: ValidationInfo) -> "QuestionsReply":
        keys = ((info.context or {}).get("rubric") or default_rubric()).keys
        missing = [k for k in keys if not any(q.dimension == k for q in self.questions)]
        if missing:
            raise ValueError(f"no questions for dimension(s) {', '.join(missing)}; write 2 to 6 for each")
        return self


_THINK = re.compile(r"<think>.*?</think>", re.S)
_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n?(.*?)\n?```$", re.S)

Reply = TypeVar("Reply", bound=BaseModel)


def extract_json(text: str) -> Any:
    """The JSON value in a reply: drops reasoning blocks and ``` fences, tolerates prose around it."""
    body = _THINK.sub("", text or "").strip()
    fenced = _FENCE.match(body)
    if fenced:
        body = fenced.group(1).strip()
    if not body:
        raise ReplyError("the reply was empty; expected a JSON object")
    try:
        return json.loads(body)
    except json.JSONDecodeError as e:
        first_error = e
    # Some models wrap the object in a sentence: try the outermost {...} or [...] span.
    for open_, close in (("{", "}"), ("[", "]")):
        start, end = body.find(open_), body.rfind(close)
        if 0 <= start < end:
            try:
                return json.loads(body[start:end + 1])
            except json.JSONDecodeError:
                pass
    raise ReplyError(f"the reply is not valid JSON ({first_error.msg} at line {first_error.lineno} "
                     f"column {first_error.colno})")


def parse_reply(text: str, model: type[Reply], rubric=None) -> Reply:
    """Parse and validate a reply (its dimensions: the rubric's, default FingER's), or raise ReplyError saying
    what was wrong."""
    data = extract_json(text)
    try:
        return model.model_validate(data, context={"rubric": rubric or default_rubric()})
    except ValidationError as e:
        raise ReplyError(validation_message(e)) from None
