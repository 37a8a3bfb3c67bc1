"""The one interface every question generator implements, and the QuestionSet builder they share."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable

from fingereval.dimensions import DIMENSION_KEYS
from fingereval.errors import DataError
from fingereval.schema import Entity, Question, QuestionSet

from fingereval.ask.replies import DraftQuestion


class QuestionGenerator(ABC):
    """Turns a text-to-video prompt into entity-level yes/no questions in the five dimensions."""

    @property
    @abstractmethod
    def label(self) -> str:
        """What goes into `QuestionSet.generator`, e.g. "templates" or "llm:gpt-4o-mini"."""

    @abstractmethod
    def generate(self, prompt: str) -> QuestionSet:
        ...


def check_prompt(prompt: str) -> str:
    text = " ".join(str(prompt).split())
    if not text:
        raise DataError("the prompt is empty: give the text the video was generated from")
    return text


def build_question_set(prompt: str, entities: list[Entity], drafts: Iterable[DraftQuestion],
                       generator: str) -> QuestionSet:
    """Number the questions per dimension ("visual_quality-1", ...), in dimension order, dropping repeats.

    Ids depend only on the questions' order, so the same drafts always get the same ids.
    """
    by_dimension: dict[str, list[DraftQuestion]] = {k: [] for k in DIMENSION_KEYS}
    seen: set[str] = set()
    for draft in drafts:
        key = " ".join(draft.text.lower().split())
        if key in seen:
            continue
        seen.add(key)
        by_dimension[draft.dimension].append(draft)
    questions = [
        Question(id=f"{dimension}-{n}", dimension=dimension, entity=d.entity, text=d.text.strip(),
                 good_answer=d.good_answer)
        for dimension, drafts_of_dim in by_dimension.items()
        for n, d in enumerate(drafts_of_dim, start=1)
    ]
    return QuestionSet(prompt=prompt, entities=entities, questions=questions, generator=generator)
