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
from fingereval.rubric import Rubric, load_rubric

# name -> "module:Class"; modules are imported on use, so "templates" never imports torch or openai.
GENERATORS = Registry("question generator", "fingereval.question_generators", {
    "templates": "fingereval.ask.templates:TemplateQuestionGenerator",
    "llm": "fingereval.ask.llm:LLMQuestionGenerator",
    "local": "fingereval.ask.local:LocalQuestionGenerator",
})


def get_generator(name: str, rubric: "Rubric | str | None" = None, **options) -> QuestionGenerator:
    """The generator called `name`, built with `options`, asking in the dimensions of `rubric` (a Rubric, a file,
    a shipped rubric's name; default FingER's five); ConfigError for an unknown name or option."""
    generator = GENERATORS.create(name, **options)
    if rubric is not None:
        generator.rubric = load_rubric(rubric)
    return generator


__all__ = ["GENERATORS", "QuestionGenerator", "get_generator"]
