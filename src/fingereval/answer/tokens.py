"""The yes/no token sets read at the answer slot, built from the tokenizer's own vocabulary."""
from __future__ import annotations

import string

_STRIP = string.whitespace + string.punctuation + "\u201c\u201d\u2018\u2019\u00a0"


def normalize_token_text(text: str) -> str:
    return text.strip(_STRIP).lower()


def yes_no_token_ids(tokenizer) -> tuple[list[int], list[int]]:
    """Every vocabulary token that decodes, stripped of spaces, quotes and punctuation and lower-cased,
    to "yes" (first list) or "no" (second list): `Yes`, ` yes`, `"Yes`, `YES` all count."""
    special = set(tokenizer.all_special_ids)
    vocab = len(tokenizer)
    texts = tokenizer.batch_decode([[i] for i in range(vocab)], skip_special_tokens=False)
    yes, no = [], []
    for tid, text in enumerate(texts):
        if tid in special:
            continue
        norm = normalize_token_text(text)
        if norm == "yes":
            yes.append(tid)
        elif norm == "no":
            no.append(tid)
    if not yes or not no:
        raise ValueError("the tokenizer has no token spelling yes or no; it cannot score answers")
    return yes, no
