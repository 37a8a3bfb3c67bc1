"""Question generators: prompt -> QuestionSet, three backends behind one interface.

    from fingereval.ask import get_generator
    questions = get_generator("templates").generate("Two men shake hands in a modern office")

- "templates": offline and deterministic (rule-based entities + per-dimension templates).
- "llm": any OpenAI-compatible chat endpoint (options: base_url, model, api_key, timeout).
- "local": a local transformers text LLM (options: model, device, dtype, max_new_tokens).
"""
from __future__ import annotations

from fingereval.ask.base import QuestionGenerator
from fingereval.registry import Registry

# name -> "module:Class"; modules are imported on use, so "templates" never imports torch or openai.
GENERATORS = Registry("question generator", "fingereval.question_generators", {
    "templates": "fingereval.ask.templates:TemplateQuestionGenerator",
    "llm": "fingereval.ask.llm:LLMQuestionGenerator",
    "local": "fingereval.ask.local:LocalQuestionGenerator",
})


def get_generator(name: str, **options) -> QuestionGenerator:
    """The generator called `name`, built with `options`; ConfigError for an unknown name or option."""
    return GENERATORS.create(name, **options)


__all__ = ["GENERATORS", "QuestionGenerator", "get_generator"]
