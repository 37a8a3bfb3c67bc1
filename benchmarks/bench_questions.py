"""Entities and questions of the offline `templates` generator against hand labels, before and after issue 19.

The labels are benchmarks/questions/entities_labelled.jsonl (what counts as right: benchmarks/questions/README.md).
"Before" is the package as committed at BASELINE_REV (extracted with `git archive`), "after" the working tree;
each runs in its own interpreter and the same judge scores both. Prints, for a split of the labelled prompts,
entity precision and recall (all entities the generator finds, and the ones it asks about), the share of
questions a person would reject, and, on all 667 prompts, question counts and five-dimension coverage.

    .venv/bin/python benchmarks/bench_questions.py                 # the reporting split (60 prompts)
    .venv/bin/python benchmarks/bench_questions.py --split tune    # the 30 prompts the rules were tuned on
    .venv/bin/python benchmarks/bench_questions.py --split heldout --baseline-rev 40654c8   # issue 30: 30 GenAI-Bench
    .venv/bin/python benchmarks/bench_questions.py --split fresh --baseline-rev 40654c8     # 30 drawn blind (since tuned on)
    .venv/bin/python benchmarks/bench_questions.py --split fresh2 --baseline-rev 4e91b6c    # 30 more, drawn blind after
    .venv/bin/python benchmarks/bench_questions.py --split vbench --show                    # 30 VBench prompts (tuned on since)
    .venv/bin/python benchmarks/bench_questions.py --split vbench2 --show                   # 30 more VBench prompts, blind
    .venv/bin/python benchmarks/bench_questions.py --split vbench,vbench2                   # splits pooled: their counts summed
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LABELS = ROOT / "benchmarks" / "questions" / "entities_labelled.jsonl"
# VideoGen-Eval's prompts (attribution: src/fingereval/resources/README.md)
PROMPTS = ROOT / "src" / "fingereval" / "resources" / "t2v_prompts.jsonl"
# questions (or every question about a garbled entity name) a person rejects as nonsense, judged by hand on the
# reporting prompts for the two versions compared here
BY_HAND = ROOT / "benchmarks" / "questions" / "rejected_by_hand.jsonl"
# The last commit before issue 19: src/fingereval/ask is the same from here to 244d08f (HEAD when it was measured).
BASELINE_REV = "8b2a9f0"
MOTION_WORDS = (" move ", " move?", " moves ", " moving ")
DIMENSIONS = ("visual_quality", "temporal_consistency", "dynamic_degree", "text_alignment", "factual_consistency")


def collect(src: Path) -> dict:
    """Run in the interpreter of one version: what its templates generator writes for every prompt."""
    sys.path.insert(0, str(src))
    from fingereval.ask import templates  # the version under `src`, first on sys.path
    assert Path(templates.__file__).is_relative_to(src), templates.__file__
    generator = templates.TemplateQuestionGenerator()
    labelled, every = [], []
    for row in map(json.loads, LABELS.read_text().splitlines()):
        ranked = templates.rank_entities(templates.analyse(row["prompt"]))
        key_of = {c.first.name: c.key for c in ranked}
        qs = generator.generate(row["prompt"])
        labelled.append({
            "id": row["id"], "found": [c.key for c in ranked],
            "asked": [key_of.get(e.name, e.name.split()[-1].lower()) for e in qs.entities],
            "questions": [{"dimension": q.dimension, "text": q.text, "entity": q.entity,
                           "key": key_of.get(q.entity, q.entity.split()[-1].lower()) if q.entity else None}
                          for q in qs.questions]})
    for row in map(json.loads, PROMPTS.read_text().splitlines()):
        dims = {d: len(v) for d, v in generator.generate(row["prompt"]).by_dimension().items()}
        every.append({"id": row["id"], "dimensions": dims})
    return {"labelled": labelled, "all": every}


def run_version(rev: str | None) -> dict:
    """collect() for the working tree (rev None) or for the package at `rev`, in a fresh interpreter."""
    with tempfile.TemporaryDirectory(prefix="bench-questions-") as tmp:
        src = ROOT / "src"
        if rev is not None:
            archive = Path(tmp) / "src.tar"
            subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), rev, "src/fingereval"], check=True)
            with tarfile.open(archive) as tar:
                tar.extractall(tmp, filter="data")
            src = Path(tmp) / "src"
        out = subprocess.run([sys.executable, __file__, "--collect", str(src)], capture_output=True, text=True,
                             check=True, env={**os.environ, "PYTHONPATH": str(src)})
    return json.loads(out.stdout)


# How a reader tells the number of a name, without the generator's lexicon: "a group of women" is one
# group; a name whose last word is not the labelled (singular) head is an inflected plural ("men");
# these words are plural as they stand.
COLLECTIVE = ("group", "flock", "herd", "pair", "crowd", "team", "school", "bunch", "set", "row", "pack", "swarm")
INVARIANT_PLURALS = frozenset("people police cattle clothes jeans pants glasses sunglasses scissors passersby "
                              "furnishings fish sheep deer".split())


def _agreement_wrong(text: str, name: str, label: dict) -> bool:
    """Whether a question that opens with Is/Are/Does/Do + the entity uses the wrong number."""
    first, _, rest = text.partition(" ")
    if first not in ("Is", "Are", "Does", "Do"):
        return False
    rest, name = rest.lower(), name.lower()
    if not re.match(rf"(the )?{re.escape(name)}\b", rest):
        return False  # the question is about another wording ("Are the cows white?" for the entity "cow")
    if rest.startswith((f"the {name} and ", f"{name} and ")):
        return False  # "Are the man and the woman walking?": two subjects
    words = name.split()
    word = words[words.index("of") - 1] if "of" in words[1:] else words[-1]  # "a plate of chicken": the plate
    if word in COLLECTIVE:
        plural = False
    elif word != label["head"]:
        plural = True
    else:
        plural = label["plural"] and word in INVARIANT_PLURALS
    return (first in ("Are", "Do")) != plural


def _by_hand() -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    rows = [json.loads(line) for line in BY_HAND.read_text().splitlines() if line.strip()]
    return ({(r["id"], r["question"]) for r in rows if "question" in r},
            {(r["id"], r["entity"]) for r in rows if "entity" in r})


def judge(row: dict, got: dict) -> dict:
    """The entities one version found and asked about for a labelled prompt, and the questions the rule rejects."""
    labels = {e["head"]: e for e in row["entities"]}
    bad_questions, bad_names = _by_hand()
    rejected = []
    for q in got["questions"]:
        if q["entity"] is None:
            continue
        label = labels.get(q["key"])
        why = None
        if label is None:
            why = "wrong entity"
        elif _agreement_wrong(q["text"], q["entity"], label):
            why = "agreement"
        elif not label["moves"] and any(w in f" {q['text'].lower()} " for w in MOTION_WORDS):
            why = "motion of an immovable thing"
        elif (row["id"], q["text"]) in bad_questions or (row["id"], q["entity"]) in bad_names:
            why = "nonsense (by hand)"
        if why:
            rejected.append((why, q["text"]))
    return {"found": got["found"], "asked": got["asked"], "labels": sorted(labels),
            "n_questions": len(got["questions"]), "rejected": rejected}


def summary(results: list[dict]) -> dict:
    """Entity precision and recall and the rejected share over the judged labelled prompts of one version."""
    def pr(kind: str) -> tuple[float, float]:
        tp = sum(len(set(r[kind]) & set(r["labels"])) for r in results)
        predicted = sum(len(set(r[kind])) for r in results)
        gold = sum(len(r["labels"]) for r in results)
        return tp / max(predicted, 1), tp / max(gold, 1)

    n_q = sum(r["n_questions"] for r in results)
    reasons: dict[str, int] = {}
    for r in results:
        for why, _ in r["rejected"]:
            reasons[why] = reasons.get(why, 0) + 1
    p_all, r_all = pr("found")
    p_asked, r_asked = pr("asked")
    return {"prompts": len(results), "entity_precision": p_all, "entity_recall": r_all,
            "asked_precision": p_asked, "asked_recall": r_asked, "questions": n_q,
            "rejected_share": sum(reasons.values()) / max(n_q, 1), "rejected_by_reason": reasons}


def coverage(every: list[dict]) -> dict:
    """Question counts and five-dimension coverage over all prompts of one version."""
    totals = [sum(r["dimensions"].values()) for r in every]
    return {"prompts": len(every), "questions": sum(totals), "questions_per_prompt_min": min(totals),
            "questions_per_prompt_max": max(totals),
            "prompts_with_all_five_dimensions": sum(all(r["dimensions"].get(d, 0) for d in DIMENSIONS) for r in every),
            **{f"min_{d}": min(r["dimensions"].get(d, 0) for r in every) for d in DIMENSIONS}}


SPLITS = ("report", "tune", "heldout", "fresh", "fresh2", "vbench", "vbench2")


def _splits(text: str) -> str | tuple[str, ...]:
    """--split: "all", or one split or several joined by commas, whose prompts are pooled (precision and recall over
    their summed counts, not an average of the splits' figures)."""
    if text == "all":
        return text
    names = tuple(name.strip() for name in text.split(","))
    unknown = [name for name in names if name not in SPLITS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown split {', '.join(unknown)}: give {', '.join(SPLITS)} or all")
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="report", type=_splits,
                        help=f"one of {', '.join(SPLITS)}, several joined by commas (pooled), or all")
    parser.add_argument("--baseline-rev", default=BASELINE_REV)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--show", action="store_true", help="print each prompt's entities and rejected questions")
    parser.add_argument("--collect", metavar="SRC", help=argparse.SUPPRESS)  # internal: one version's raw output
    args = parser.parse_args()
    if args.collect:
        print(json.dumps(collect(Path(args.collect))))
        return
    rows = [json.loads(line) for line in LABELS.read_text().splitlines() if line.strip()]
    raw = {"before": run_version(args.baseline_rev), "after": run_version(None)}
    out: dict = {"split": args.split if args.split == "all" else "+".join(args.split), "baseline_rev": args.baseline_rev}
    judged = {}
    for version, got in raw.items():
        by_id = {g["id"]: g for g in got["labelled"]}
        judged[version] = [judge(r, by_id[r["id"]]) for r in rows if args.split == "all" or r["split"] in args.split]
        out[version] = {**summary(judged[version]), "all_prompts": coverage(got["all"])}
    before_all, after_all = ({r["id"]: r["dimensions"] for r in raw[v]["all"]} for v in ("before", "after"))
    out["prompts_with_fewer_questions_after"] = [i for i in before_all
                                                 if sum(after_all[i].values()) < sum(before_all[i].values())]
    if args.show:
        shown = [r for r in rows if args.split == "all" or r["split"] in args.split]
        for row, b, a in zip(shown, judged["before"], judged["after"]):
            print(f"{row['id']}: labels {', '.join(a['labels'])}\n  before {', '.join(b['found'])}\n"
                  f"  after  {', '.join(a['found'])}")
            for why, text in a["rejected"]:
                print(f"    rejected ({why}): {text}")
    if args.json:
        print(json.dumps(out, indent=2))
        return
    _print_table(out)


def _print_table(out: dict) -> None:
    b, a = out["before"], out["after"]
    print(f"labelled prompts, split {out['split']}: {b['prompts']}   (before = {out['baseline_rev']}, "
          f"after = working tree)")
    print(f"{'':34}{'before':>10}{'after':>10}")
    for key in ("entity_precision", "entity_recall", "asked_precision", "asked_recall", "rejected_share"):
        print(f"{key:34}{b[key]:>10.3f}{a[key]:>10.3f}")
    print(f"{'questions':34}{b['questions']:>10}{a['questions']:>10}")
    print(f"rejected by reason: before {b['rejected_by_reason']}; after {a['rejected_by_reason']}")
    print(f"all prompts: {b['all_prompts']['prompts']}")
    for key in b["all_prompts"]:
        if key != "prompts":
            print(f"{key:34}{b['all_prompts'][key]:>10}{a['all_prompts'][key]:>10}")
    fewer = out["prompts_with_fewer_questions_after"]
    print(f"prompts with fewer questions after: {len(fewer)} {' '.join(fewer)}")


if __name__ == "__main__":
    main()
