"""The one interface every question generator implements, and the QuestionSet builder they share."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable

from fingereval.errors import DataError
from fingereval.rubric import Rubric, default_rubric
from fingereval.schema import Entity, Question, QuestionSet

from fingereval.ask.replies import DraftQuestion


class QuestionGenerator(ABC):
    """Turns a text-to-video prompt into entity-level yes/no questions in the dimensions of its rubric
    (`rubric`, FingER's five unless set: `get_generator(name, rubric=...)`)."""

    _rubric: Rubric | None = None

    @property
    def rubric(self) -> Rubric:
        return self._rubric or default_rubric()

    @rubric.setter
    def rubric(self, rubric: Rubric | None) -> None:
        self._rubric = rubric

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
                       generator: str, rubric: Rubric | None = None) -> QuestionSet:
    """Number the questions per dimension ("visual_quality-1", ...), in the rubric's dimension order, dropping
    repeats.

    Ids depend only on the questions' order, so the same drafts always get the same ids.
    """
    rubric = rubric or default_rubric()
    by_dimension: dict[str, list[DraftQuestion]] = {k: [] for k in rubric.keys}
    seen: set[str] = set()
    for draft in drafts:
        key = " ".join(draft.text.lower().split())
        if key in seen:
            continue
        seen.add(key)
        by_dimension[rubric.normalize(draft.dimension)].append(draft)
    questions = [  # validated against the rubric: a key of its own may be another rubric's alias
        Question.model_validate(dict(id=f"{dimension}-{n}", dimension=dimension, entity=d.entity,
                                     text=d.text.strip(), good_answer=d.good_answer), context={"rubric": rubric})
        for dimension, drafts_of_dim in by_dimension.items()
        for n, d in enumerate(drafts_of_dim, start=1)
    ]
    return QuestionSet(prompt=prompt, entities=entities, questions=questions, generator=generator,
                       rubric=rubric.ref())  # recorded, as results record it: a file is scored with its rubric
