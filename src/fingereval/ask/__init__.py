"""Question generators: prompt -> QuestionSet, three backends behind one interface.

    from fingereval.ask import get_generator
    questions = get_generator("templates").generate("Two men shake hands in a modern office")

- "templates": offline and deterministic (rule-based entities + per-dimension templates).
- "llm": any OpenAI-compatible chat endpoint (options: base_url, model, api_key, timeout).
- "local": a local transformers text LLM (options: model, device, dtype, max_new_tokens).
"""
from __future__ import annotations

import importlib
import inspect

from fingereval.errors import ConfigError

from fingereval.ask.base import QuestionGenerator

# name -> (module, class); modules are imported on use, so "templates" never imports torch or openai.
GENERATORS: dict[str, tuple[str, str]] = {
    "templates": ("fingereval.ask.templates", "TemplateQuestionGenerator"),
    "llm": ("fingereval.ask.llm", "LLMQuestionGenerator"),
    "local": ("fingereval.ask.local", "LocalQuestionGenerator"),
}


def get_generator(name: str, **options) -> QuestionGenerator:
    """The generator called `name`, built with `options`; ConfigError for an unknown name or option."""
    key = str(name).strip().lower()
    if key not in GENERATORS:
        raise ConfigError(f"unknown question generator {name!r}: use one of {', '.join(GENERATORS)}")
    module_name, class_name = GENERATORS[key]
    cls = getattr(importlib.import_module(module_name), class_name)
    accepted = inspect.signature(cls).parameters
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ConfigError(f"question generator {key!r} has no option {', '.join(unknown)}: "
                          f"it takes {', '.join(accepted) or 'no options'}")
    return cls(**options)


__all__ = ["GENERATORS", "QuestionGenerator", "get_generator"]
