"""Questions from any OpenAI-compatible chat endpoint (OpenAI, vLLM, llama.cpp, Ollama, ...)."""
from __future__ import annotations

import os

from fingereval.errors import ConfigError

from fingereval.ask.chat import ChatQuestionGenerator
from fingereval.ask.language import language_name
from fingereval.ask.prompts import Message

ENV_BASE_URL = "FINGEREVAL_LLM_BASE_URL"
ENV_MODEL = "FINGEREVAL_LLM_MODEL"
ENV_API_KEY = "FINGEREVAL_LLM_API_KEY"
DEFAULT_TIMEOUT_S = 120.0


def _first_env(*names: str) -> str | None:
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


class LLMQuestionGenerator(ChatQuestionGenerator):
    def __init__(self, base_url: str | None = None, model: str | None = None, api_key: str | None = None,
                 timeout: float | None = None, temperature: float = 0.0, max_tokens: int | None = None,
                 language: str | None = None):
        self.base_url = base_url or _first_env(ENV_BASE_URL, "OPENAI_BASE_URL")
        self.model = model or _first_env(ENV_MODEL)
        if not self.base_url:
            raise ConfigError(f"no LLM endpoint configured for the 'llm' question generator: set {ENV_BASE_URL} "
                              f"(e.g. http://localhost:8000/v1) or pass base_url")
        if not self.model:
            raise ConfigError(f"no model named for the 'llm' question generator: set {ENV_MODEL} or pass model")
        language_name(language)  # an unknown language fails here, before any call
        self.language = language
        self.timeout = float(timeout) if timeout else DEFAULT_TIMEOUT_S
        self.temperature = temperature
        self.max_tokens = max_tokens
        # Local servers (vLLM, llama.cpp) accept any key, but the client refuses to start without one.
        key = api_key or _first_env(ENV_API_KEY, "OPENAI_API_KEY") or "not-needed"
        import openai  # imported here so the other generators do not need it

        self._openai = openai
        # max_retries=0: a failed call surfaces at once as a clear error instead of hanging in backoff.
        self._client = openai.OpenAI(base_url=self.base_url, api_key=key, timeout=self.timeout, max_retries=0)

    @property
    def label(self) -> str:
        return f"llm:{self.model}"

    def _chat(self, messages: list[Message]) -> str:
        openai = self._openai
        options = {"max_tokens": self.max_tokens} if self.max_tokens else {}
        try:
            response = self._client.chat.completions.create(
                model=self.model, messages=messages, temperature=self.temperature, **options)
        except openai.APITimeoutError:
            raise ConfigError(f"LLM endpoint {self.base_url} did not answer within {self.timeout:g} s: "
                              f"check the server, or raise the timeout") from None
        except openai.APIConnectionError:
            raise ConfigError(f"cannot reach LLM endpoint {self.base_url}: is the server running? "
                              f"(set {ENV_BASE_URL})") from None
        except openai.AuthenticationError:
            raise ConfigError(f"LLM endpoint {self.base_url} refused the API key: set {ENV_API_KEY}") from None
        except openai.NotFoundError:
            raise ConfigError(f"LLM endpoint {self.base_url} has no model {self.model!r} (or no chat API there): "
                              f"check {ENV_MODEL} and that the URL ends in /v1") from None
        except openai.APIStatusError as e:
            raise ConfigError(f"LLM endpoint {self.base_url} answered HTTP {e.status_code}: {_body(e)}") from None
        if not response.choices:
            return ""
        return response.choices[0].message.content or ""


def _body(error: Exception) -> str:
    text = " ".join(str(getattr(error, "message", error)).split())
    return text[:200]
