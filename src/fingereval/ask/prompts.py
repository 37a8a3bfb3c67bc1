"""The prompt texts the `llm` and `local` generators send: one place, shared by both backends.

The procedure follows the FingER paper: step 1 extracts the entities of the video prompt, step 2
writes entity-level yes/no questions in the five dimensions, guided by in-context examples.
"""
from __future__ import annotations

import json

from fingereval.dimensions import DIMENSIONS
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

# Two examples per dimension, each tied to an entity, with the answer a GOOD video earns.
EXAMPLE_QUESTIONS: list[dict[str, str]] = [
    {"dimension": "visual_quality", "entity": "two men",
     "question": "Are the men clearly visible without blur during the handshake?", "good_answer": "yes"},
    {"dimension": "visual_quality", "entity": "two men",
     "question": "Are the men's hands or fingers deformed or merged together?", "good_answer": "no"},
    {"dimension": "temporal_consistency", "entity": "two men",
     "question": "Is there any local dislocation of the men while they shake hands?", "good_answer": "no"},
    {"dimension": "temporal_consistency", "entity": "modern office",
     "question": "Does the office background keep the same layout throughout the video?", "good_answer": "yes"},
    {"dimension": "dynamic_degree", "entity": None,
     "question": "Is the overall dynamic range of the video relatively small?", "good_answer": "no"},
    {"dimension": "dynamic_degree", "entity": "handshake",
     "question": "Do the men's arms visibly move as they shake hands?", "good_answer": "yes"},
    {"dimension": "text_alignment", "entity": "two men",
     "question": "Do the two men shaking hands appear in the video?", "good_answer": "yes"},
    {"dimension": "text_alignment", "entity": "modern office",
     "question": "Does the scene look like a modern office?", "good_answer": "yes"},
    {"dimension": "factual_consistency", "entity": "two men",
     "question": "Are there obvious violations of common sense in the men's facial expressions?",
     "good_answer": "no"},
    {"dimension": "factual_consistency", "entity": "handshake",
     "question": "Do the men's hands pass through each other in a physically impossible way?",
     "good_answer": "no"},
]

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
Cover all five dimensions below, with 2 to 6 questions each:
{dimensions}

Rules:
- Ask about the entities listed below, by name, one fact per question. A dynamic_degree question
  may be about the whole video (set "entity" to null).
- Questions must be answerable by watching the video: yes or no.
- "good_answer" is the answer a GOOD video earns: "Is there flicker on the car?" has good answer
  "no"; "Is the car clearly visible?" has good answer "yes". Mix both kinds.
- Ask about the actions the prompt describes in text_alignment (for example "Are the two men
  shaking hands?").

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


def _dimension_lines() -> str:
    return "\n".join(f"- {d.key} ({d.name}): {d.description}" for d in DIMENSIONS)


def entity_messages(prompt: str) -> list[Message]:
    user = ENTITY_TASK.format(
        example_prompt=EXAMPLE_PROMPT,
        example_reply=json.dumps({"entities": EXAMPLE_ENTITIES}),
        prompt=prompt,
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def question_messages(prompt: str, entities: list[Entity]) -> list[Message]:
    user = QUESTION_TASK.format(
        dimensions=_dimension_lines(),
        keys=", ".join(d.key for d in DIMENSIONS),
        example_prompt=EXAMPLE_PROMPT,
        example_entities=json.dumps([e["name"] for e in EXAMPLE_ENTITIES]),
        example_reply=json.dumps({"questions": EXAMPLE_QUESTIONS}),
        prompt=prompt,
        entities=json.dumps([e.name for e in entities]),
    )
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def retry_message(error: str) -> Message:
    return {"role": "user", "content": RETRY.format(error=error)}
