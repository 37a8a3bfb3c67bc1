"""Questions from a local transformers text LLM (a hub id or a local directory), greedy decoding."""
from __future__ import annotations

import os

from fingereval.errors import ConfigError

from fingereval.ask.chat import ChatQuestionGenerator
from fingereval.ask.language import language_name
from fingereval.ask.prompts import Message

ENV_MODEL = "FINGEREVAL_LOCAL_MODEL"


class LocalQuestionGenerator(ChatQuestionGenerator):
    def __init__(self, model: str | None = None, device: str = "cpu", dtype: str = "auto",
                 max_new_tokens: int = 1536, language: str | None = None):
        model = model or os.environ.get(ENV_MODEL, "").strip()
        if not model:
            raise ConfigError(f"no model named for the 'local' question generator: pass model (a hub id or a "
                              f"local directory) or set {ENV_MODEL}")
        language_name(language)  # an unknown language fails here, before the model loads
        self.language = language
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.model_name = str(model)
        self.device = device
        self.max_new_tokens = max_new_tokens
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.model_name)
            self.model = AutoModelForCausalLM.from_pretrained(self.model_name, dtype=dtype).to(device)
        except (OSError, ValueError) as e:
            first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            raise ConfigError(f"cannot load the local question model {self.model_name!r}: {first_line}") from None
        if not self.tokenizer.chat_template:
            raise ConfigError(f"the tokenizer of {self.model_name!r} has no chat template: use an instruction-tuned "
                              f"(chat) model")
        self.model.eval()
        self._torch = torch

    @property
    def label(self) -> str:
        return f"local:{self.model_name}"

    def _chat(self, messages: list[Message]) -> str:
        text = self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        # The chat template already wrote the special tokens; adding them again would double the BOS.
        inputs = self.tokenizer(text, return_tensors="pt", add_special_tokens=False).to(self.device)
        pad_id = self.tokenizer.pad_token_id
        if pad_id is None:
            pad_id = self.tokenizer.eos_token_id
        with self._torch.inference_mode():
            output = self.model.generate(**inputs, do_sample=False, max_new_tokens=self.max_new_tokens,
                                         pad_token_id=pad_id)
        new_tokens = output[0, inputs["input_ids"].shape[1]:]
        return self.tokenizer.decode(new_tokens, skip_special_tokens=True)
