"""Answerers: a model watches a video and answers yes/no questions, behind one interface (base.py).

    from fingereval.answer import get_answerer
    answerer = get_answerer("transformers", model="Qwen/Qwen2.5-VL-7B-Instruct")

- "transformers": in-process Qwen2-VL-family model, shared-prefix scoring (options: model, device, dtype,
  video_config, shared_prefix, suffix_batch, max_new_tokens).
- "openai": a vLLM / SGLang server over the OpenAI chat API with logprobs (options: model, base_url, api_key,
  video_config, concurrency, video_as, timeout, max_retries, max_new_tokens, top_logprobs, prime_prefix).
Third-party answerers register under the entry-point group "fingereval.answerers".
"""
from __future__ import annotations

from fingereval.answer.base import Answerer
from fingereval.registry import Registry

ANSWERERS = Registry("answerer", "fingereval.answerers", {
    "transformers": "fingereval.answer.transformers_backend:TransformersAnswerer",
    "openai": "fingereval.answer.openai_backend:OpenAIAnswerer",
})


def get_answerer(name: str, **options) -> Answerer:
    """The answerer called `name`, built with `options`; ConfigError for an unknown name or option."""
    return ANSWERERS.create(name, **options)


__all__ = ["ANSWERERS", "Answerer", "get_answerer"]
