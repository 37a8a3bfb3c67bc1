"""The prompt texts the `llm` and `local` generators send: one place, shared by both backends.

The procedure follows the FingER paper: step 1 extracts the entities of the video prompt, step 2
writes entity-level yes/no questions in the rubric's dimensions (FingER's five by default), guided by each
dimension's guidance and in-context examples (fingereval.rubric, docs/rubric.md).
"""
from __future__ import annotations

import json

from fingereval.rubric import Rubric, default_rubric
from fingereval.schema import Entity

Message = dict[str, str]

SYSTEM = (
    "You help evaluate AI-generated videos. Given the text prompt a video was generated from, you "
    "write precise, checkable yes/no questions about what a viewer would see. "
    "You always reply with one JSON object and nothing else."
)

# The worked example both steps show the model (the prompt the design notes use throughout).
EXAMPLE_PROMPT = "Two men shake hands in a modern office"

EXAMPLE_ENTITIES: list[dict[str, str]] = [
    {"name": "two men", "description": "the two people who shake hands"},
    {"name": "handshake", "description": "the action the men perform together"},
    {"name": "modern office", "description": "the place, seen in the background"},
]
# The example questions, two per dimension about these entities, are the rubric's (`examples` in its file).

ENTITY_TASK = """\
Step 1 of 2: list the entities of a text-to-video prompt.
An entity is something the prompt names that a viewer could check in the video: a person, animal,
object, the place or background, or a key action or event. Use the prompt's own words for each
name, keep names short (1-4 words), and list the most important entities first (at most 8).

Reply with one JSON object of this form:
{{"entities": [{{"name": "...", "description": "..."}}]}}

Example prompt: {example_prompt}
Example reply: {example_reply}

Prompt: {prompt}
Reply:"""

QUESTION_TASK = """\
Step 2 of 2: write yes/no questions that check a generated video against its prompt.
Cover all {count} dimensions below, with 2 to 6 questions each:
{dimensions}

Rules:
- Ask about the entities listed below, by name, one fact per question.
- Questions must be answerable by watching the video: yes or no.
- "good_answer" is the answer a GOOD video earns: "Is there flicker on the car?" has good answer
  "no"; "Is the car clearly visible?" has good answer "yes". Mix both kinds.
{guidance}
Reply with one JSON object of this form:
{{"questions": [{{"dimension": "<one of {keys}>", "entity": "<entity name or null>", "question": "...", "good_answer": "yes|no"}}]}}

Example prompt: {example_prompt}
Example entities: {example_entities}
Example reply: {example_reply}

Prompt: {prompt}
Entities: {entities}
Reply:"""

RETRY = (
    "Your reply could not be used: {error}\n"
    "Reply again with only the corrected JSON object, with no other text."
)


def _dimension_lines(rubric: Rubric) -> str:
    return "\n".join(f"- {d.key} ({d.name}): {d.description}" for d in rubric.dimensions)


def _guidance_lines(rubric: Rubric) -> str:
    return "".join(f"- {' '.join(d.guidance.split())}\n" for d in rubric.dimensions if d.guidance.strip())


def example_questions(rubric: Rubric) -> list[dict]:
    """The rubric's in-context examples, about EXAMPLE_PROMPT, each with its dimension."""
    return [{"dimension": d.key, **e.model_dump()} for d in rubric.dimensions for e in d.examples]


def entity_messages(prompt: str) -> list[Message]:
    user = ENTITY_TASK.format(
        example_prompt=EXAMPLE_PROMPT,
        example_reply=json.dumps({"entities": EXAMPLE_ENTITIES}),
        prompt=prompt,
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def question_messages(prompt: str, entities: list[Entity], rubric: Rubric | None = None) -> list[Message]:
    rubric = rubric or default_rubric()
    user = QUESTION_TASK.format(
        count=len(rubric.dimensions),
        dimensions=_dimension_lines(rubric),
        guidance=_guidance_lines(rubric),
        keys=", ".join(rubric.keys),
        example_prompt=EXAMPLE_PROMPT,
        example_entities=json.dumps([e["name"] for e in EXAMPLE_ENTITIES]),
        example_reply=json.dumps({"questions": example_questions(rubric)}),
        prompt=prompt,
        entities=json.dumps([e.name for e in entities]),
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def retry_message(error: str) -> Message:
    return {"role": "user", "content": RETRY.format(error=error)}
