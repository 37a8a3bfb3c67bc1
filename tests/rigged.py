"""A tiny Qwen2.5-VL on Qwen's real vocabulary, rigged into a known bigram model.

Every attention and MLP output projection is zero, so each position's hidden state is its own token's
embedding and the next-token distribution depends on the current token only. Chosen tokens get their own
embedding direction and lm_head column; every other token stays uniform. The answer slot's exact p_yes
is then known in closed form (docs/scoring.md).
"""
from __future__ import annotations

import math
from pathlib import Path

import torch

from fingereval.tiny.model import TinyShape, build_tiny_in_memory


def rig(bigrams: dict[str, dict[str, float]], out: Path) -> Path:
    """Save a checkpoint where after token `a` the next token is `b` with probability bigrams[a][b];
    the rest of each row's mass is spread evenly over the other tokens. Tokens are given as text, each
    one token of the vocabulary."""
    model, processor = build_tiny_in_memory(TinyShape(video_min_pixels=56 * 56), seed=0)  # 112-px frames as they are
    tok = processor.tokenizer
    lm = model.model.language_model
    hidden = model.config.text_config.hidden_size
    vocab = model.config.text_config.vocab_size
    assert len(bigrams) < hidden
    with torch.no_grad():
        for layer in lm.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        head = torch.zeros(vocab, hidden)
        for k, (current, row) in enumerate(bigrams.items()):
            emb = torch.zeros(hidden)
            emb[k] = 1.0
            lm.embed_tokens.weight[_one_id(tok, current)] = emb
            rest = (1.0 - sum(row.values())) / (vocab - len(row))
            head[:, k] = math.log(rest)
            for nxt, p in row.items():
                head[_one_id(tok, nxt), k] = math.log(p)
        # after the final RMSNorm (weight 1) a one-hot embedding becomes itself / sqrt(1/hidden + eps)
        model.lm_head.weight = torch.nn.Parameter(head * math.sqrt(1 / hidden + lm.norm.variance_epsilon))
    model.config.tie_word_embeddings = False
    model.config.text_config.tie_word_embeddings = False
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out


def uniform_rest(bigrams: dict[str, dict[str, float]], current: str, vocab: int) -> float:
    row = bigrams[current]
    return (1.0 - sum(row.values())) / (vocab - len(row))


def _one_id(tok, text: str) -> int:
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert len(ids) == 1, (text, ids)
    return ids[0]
