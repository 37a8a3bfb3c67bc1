"""The `local` question generator on a tiny random Qwen2 causal LM saved to disk.

Random weights write garbage, so the real behaviour to check is: the model loads through the same
code path as a real checkpoint, runs the chat template and greedy generation, and fails with a
clear ModelOutputError after exactly one retry.
"""
from __future__ import annotations

import pytest
import torch  # the local generator's extra: installed with the test extra, never skipped
import transformers

from fingereval.ask import get_generator, prompts
from fingereval.errors import ConfigError, ModelOutputError

CHATML = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
PROMPT = "Two men shake hands in a modern office"


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    """A 1-layer Qwen2 on Qwen's real tokenizer (fingereval.tiny.vocab), with a plain ChatML template."""
    from fingereval.tiny.vocab import qwen_tokenizer

    tokenizer = qwen_tokenizer()
    tokenizer.chat_template = CHATML

    torch.manual_seed(0)
    config = transformers.Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
        num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=4096, tie_word_embeddings=True,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    model = transformers.Qwen2ForCausalLM(config)
    path = tmp_path_factory.mktemp("tiny-qwen2-chat")
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def test_loads_runs_and_fails_clearly_after_one_retry(tiny_model_dir):
    generator = get_generator("local", model=str(tiny_model_dir), max_new_tokens=12)
    assert generator.label == f"local:{tiny_model_dir}"
    sent: list[list[dict]] = []
    replies: list[str] = []
    chat = generator._chat

    def recording_chat(messages):
        sent.append(messages)
        replies.append(chat(messages))
        return replies[-1]

    generator._chat = recording_chat
    with pytest.raises(ModelOutputError) as info:
        generator.generate(PROMPT)

    assert len(sent) == 2  # the entity step, then its one retry
    assert PROMPT in sent[0][-1]["content"]
    assert sent[1][-2] == {"role": "assistant", "content": replies[0]}
    assert "could not be used" in sent[1][-1]["content"]
    message = str(info.value)
    assert PROMPT in message and "entities" in message and "twice" in message
    assert all(isinstance(r, str) and "Step 1 of 2" not in r for r in replies)  # only the new tokens


def test_chat_returns_the_greedy_continuation_of_the_templated_prompt(tiny_model_dir):
    """The reply must be the argmax continuation, worked out here one forward pass per token from the
    chat template's own token ids: sampling, a doubled special token or the prompt echoed back all differ."""
    steps = 6
    generator = get_generator("local", model=str(tiny_model_dir), max_new_tokens=steps)
    messages = prompts.entity_messages(PROMPT)
    tokenizer, model = generator.tokenizer, generator.model
    ids = torch.tensor([list(tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                                           return_dict=True)["input_ids"])])
    new: list[int] = []
    with torch.inference_mode():
        for _ in range(steps):
            token = int(model(input_ids=ids).logits[0, -1].argmax())
            new.append(token)
            if token == tokenizer.eos_token_id:
                break
            ids = torch.cat([ids, torch.tensor([[token]])], dim=1)
    expected = tokenizer.decode(new, skip_special_tokens=True)
    assert expected  # random weights still write some text in 6 tokens
    assert generator._chat(messages) == expected


def test_missing_model_is_a_config_error(monkeypatch, tmp_path):
    monkeypatch.delenv("FINGEREVAL_LOCAL_MODEL", raising=False)
    with pytest.raises(ConfigError, match="FINGEREVAL_LOCAL_MODEL"):
        get_generator("local")
    with pytest.raises(ConfigError, match="cannot load the local question model"):
        get_generator("local", model=str(tmp_path))  # a folder with no checkpoint in it


def test_model_without_chat_template_is_a_config_error(tiny_model_dir, tmp_path):
    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_model_dir)
    tokenizer.chat_template = None
    model = transformers.AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    (tmp_path / "chat_template.jinja").unlink(missing_ok=True)
    with pytest.raises(ConfigError, match="no chat template"):
        get_generator("local", model=str(tmp_path))
