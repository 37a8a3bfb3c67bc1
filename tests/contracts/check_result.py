# Copied unchanged from the project's shared output-contract check (checks/check_result.py), so the contract tests never skip.
"""Checks one fingereval video result (JSON) for internal consistency; exits 1 with a reason."""
import json, math, sys

DIMS = ["visual_quality", "temporal_consistency", "dynamic_degree", "text_alignment", "factual_consistency"]

def fail(msg):
    print(msg); sys.exit(1)

def check(r, need_reason=False):
    for k in ("overall", "dimensions", "questions"):
        if k not in r: fail(f"result lacks '{k}'")
    qs = r["questions"]
    if len(qs) < 5: fail(f"only {len(qs)} questions")
    if sorted(r["dimensions"]) != sorted(DIMS): fail(f"dimension keys {sorted(r['dimensions'])}")
    by = {d: [] for d in DIMS}
    for q in qs:
        for k in ("dimension", "question", "good_answer", "answer", "p_yes", "score"):
            if k not in q: fail(f"question lacks '{k}': {q}")
        p = q["p_yes"]
        if not (0.0 <= p <= 1.0) or math.isnan(p): fail(f"p_yes out of range {p}")
        ga = str(q["good_answer"]).lower()
        want = p if ga == "yes" else 1 - p
        if ga not in ("yes", "no"): fail(f"good_answer {q['good_answer']}")
        if abs(q["score"] - want) > 1e-6: fail(f"score {q['score']} != polarity of p_yes {p} ({ga})")
        if str(q["answer"]).lower() not in ("yes", "no"): fail(f"answer {q['answer']}")
        if need_reason and not isinstance(q.get("reason"), str): fail("reason missing in --reason mode")
        by[q["dimension"]].append(q["score"])
    for d, s in by.items():
        got = r["dimensions"][d]
        if s and abs(got - sum(s) / len(s)) > 1e-6: fail(f"{d} = {got}, mean of its questions = {sum(s)/len(s)}")
        if not s and got is not None: fail(f"{d} has no questions but score {got}")
    present = [r["dimensions"][d] for d in DIMS if by[d]]
    lo, hi = min(present), max(present)
    if not (lo - 1e-6 <= r["overall"] <= hi + 1e-6): fail(f"overall {r['overall']} outside dimension range")
    return len(qs)

if __name__ == "__main__":
    text = open(sys.argv[1]).read()
    r, _ = json.JSONDecoder().raw_decode(text[text.index("{"):])  # tolerate a log line before the JSON
    n = check(r, need_reason=len(sys.argv) > 2 and sys.argv[2] == "reason")
    print(f"ok: {n} questions, overall {r['overall']:.4f}")
