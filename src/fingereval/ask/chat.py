"""The paper's two-step procedure over any chat model; backends supply only `_chat`.

Step 2 writes the questions of all five dimensions in ONE call rather than one call per
dimension: it is 2 model calls per prompt instead of 6 (the long instruction and examples are
prefilled once, which matters most for the local backend on CPU), and a model that sees all
dimensions at once does not ask the same thing twice under two dimensions.
"""
from __future__ import annotations

from abc import abstractmethod
from typing import TypeVar

from pydantic import BaseModel

from fingereval.errors import ModelOutputError
from fingereval.schema import QuestionSet

from fingereval.ask import prompts
from fingereval.ask.base import QuestionGenerator, build_question_set, check_prompt
from fingereval.ask.language import language_instruction
from fingereval.ask.replies import EntitiesReply, QuestionsReply, ReplyError, parse_reply

Reply = TypeVar("Reply", bound=BaseModel)


class ChatQuestionGenerator(QuestionGenerator):
    @abstractmethod
    def _chat(self, messages: list[prompts.Message]) -> str:
        """Send a conversation, return the assistant's reply text."""

    language: str | None = None  # the questions' language (code or name); None: English

    def generate(self, prompt: str) -> QuestionSet:
        prompt = check_prompt(prompt)
        note = language_instruction(self.language)
        entities = self._ask(prompt, "entities", _with_note(prompts.entity_messages(prompt), note),
                             EntitiesReply).entities
        drafts = self._ask(prompt, "questions",
                           _with_note(prompts.question_messages(prompt, entities, self.rubric), note),
                           QuestionsReply).questions
        return build_question_set(prompt, entities, drafts, self.label, self.rubric)

    def _ask(self, prompt: str, step: str, messages: list[prompts.Message], reply_model: type[Reply]) -> Reply:
        """One call; on an unusable reply, one retry that shows the model what was wrong."""
        reply = self._chat(messages)
        try:
            return parse_reply(reply, reply_model, self.rubric)
        except ReplyError as e:
            first_error = str(e)  # `e` is unbound after the except block
        retry = [*messages, {"role": "assistant", "content": reply}, prompts.retry_message(first_error)]
        reply = self._chat(retry)
        try:
            return parse_reply(reply, reply_model, self.rubric)
        except ReplyError as second:
            raise ModelOutputError(
                f"{self.label} gave unusable {step} for prompt {_short(prompt)!r} twice "
                f"(first: {first_error}; after retry: {second}); try a stronger model or the 'templates' generator"
            ) from None


def _with_note(messages: list[prompts.Message], note: str) -> list[prompts.Message]:
    """The step's messages with the language sentence before the prompt's "Reply:" cue (a prompt in any language)."""
    *head, user = messages
    body, cue, _ = user["content"].rpartition("\nPrompt:")
    content = f"{body}\n{note}\n\nPrompt:{_}" if cue else f"{user['content']}\n{note}"
    return [*head, {**user, "content": content}]


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."
