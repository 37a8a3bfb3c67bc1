"""Zero-GRPO vs cold-start GRPO on the probe world: the paper's open question, on the tiny model.

Runs TRL's GRPO (fingereval.train.grpo, accuracy + format rewards) with the same settings from two
starts: the base model (zero: vision pretrained, never saw a reason) and its SFT checkpoint (cold start);
with --captioned, also zero-GRPO from the base taught to caption the videos first (`train align`), the
nearest the tiny model comes to the paper's zero start, a pretrained MLLM that describes video but was
never taught the <think>/<answer> form.
For each it reports held-out greedy accuracy before and after (`bench qa --reason` on the same held-out
videos), the format reward (share of sampled completions in the exact <think>/<answer> form) and
accuracy reward on a fixed set of held-out questions before the first step and after the last, the
group statistics that decide whether GRPO can learn (share of groups whose rewards all agree, so that
the group-relative advantage is zero; mean reward spread), and the reasons each writes after GRPO.

    python benchmarks/grpo_cold_start.py --probes demo_out/probes --base demo_out/tiny-base \
        --sft demo_out/sft --out grpo_runs --json grpo_runs/report.json

The demo (`bash scripts/demo.sh`) leaves all three in demo_out/. Results are in docs/tiny-model.md.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from statistics import mean

from fingereval.data.instruct import group_by_video, load_instruct
from fingereval.tiny.demo import DEMO_VIDEO, REASON_TOKENS

EXAMPLES = 4  # held-out questions whose reasons are shown for each start


def held_out_records(path: Path, videos: int) -> list:
    groups = list(group_by_video(load_instruct(path)).values())
    step = max(1, len(groups) // videos)
    return [r for recs in groups[::step][:videos] for r in recs]


def greedy_report(model: Path, records: list) -> dict:
    from fingereval.answer.transformers_backend import TransformersAnswerer
    from fingereval.measure.model_bench import evaluate_qa

    answerer = TransformersAnswerer(model, video_config=DEMO_VIDEO, max_new_tokens=REASON_TOKENS)
    report = evaluate_qa(answerer, records, reason=True, n_resamples=300, keep_rows=True)
    return {"accuracy": report["accuracy"], "ci95": report["ci95"], "n": report["n"],
            "per_dimension": {d: v["accuracy"] for d, v in report["per_dimension"].items()},
            "forced_answers": report["forced_answers"], "rows": report["rows"]}


def examples(rows: list[dict]) -> list[dict]:
    """One example per dimension first, so the reasons shown are not all one question form."""
    seen, picked = set(), []
    for r in rows:
        if r["dimension"] not in seen and len(picked) < EXAMPLES:
            seen.add(r["dimension"])
            picked.append({k: r[k] for k in ("question", "human_answer", "p_yes", "reason")})
    return picked


def run_start(name: str, model: Path, args, held: list) -> dict:
    from fingereval.train.grpo import train_grpo

    before = greedy_report(model, held)
    result = train_grpo(args.probes / "qa_train.jsonl", model, args.out / name, steps=args.steps,
                        group_size=args.group_size, prompts_per_step=args.prompts_per_step, lr=args.lr,
                        max_completion=REASON_TOKENS, video_config=DEMO_VIDEO, seed=args.seed,
                        eval_data=args.probes / "qa_heldout.jsonl", eval_questions=args.eval_questions)
    after = greedy_report(result.out_dir, held)

    def ends(key: str) -> list[float]:
        values = result.logged(key)
        return [round(values[0], 4), round(values[-1], 4)] if values else []

    zero_std = result.logged("frac_reward_zero_std")
    return {
        "start": str(model), "seconds": round(result.seconds, 1),
        "held_out_accuracy": [before["accuracy"], after["accuracy"]],
        "held_out_ci95_after": after["ci95"], "held_out_questions": after["n"],
        "per_dimension": {d: [before["per_dimension"].get(d), v] for d, v in after["per_dimension"].items()},
        "forced_answers": [before["forced_answers"], after["forced_answers"]],
        "fixed_set_reward": ends("eval_reward"),
        "fixed_set_accuracy_reward": ends("eval_rewards/accuracy_reward/mean"),
        "fixed_set_format_reward": ends("eval_rewards/format_reward/mean"),
        "train_format_reward_first_last": ends("rewards/format_reward/mean"),
        "groups_all_same_reward": round(mean(zero_std), 3) if zero_std else None,
        "reward_std": round(mean(result.logged("reward_std")), 4) if result.logged("reward_std") else None,
        "kl_last": ends("kl")[-1:] or None,
        "examples_before": examples(before["rows"]), "examples_after": examples(after["rows"]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--probes", type=Path, required=True, help="probe folder with qa_train.jsonl and qa_heldout.jsonl")
    ap.add_argument("--base", type=Path, required=True, help="the model before SFT (zero-GRPO starts here)")
    ap.add_argument("--sft", type=Path, required=True, help="its SFT checkpoint (cold-start GRPO starts here)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--group-size", type=int, default=8)
    ap.add_argument("--prompts-per-step", type=int, default=4)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--eval-questions", type=int, default=48)
    ap.add_argument("--videos", type=int, default=60, help="held-out videos for the greedy accuracy")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--captioned", action="store_true", help="also zero-GRPO from the base after caption alignment")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    held = held_out_records(args.probes / "qa_heldout.jsonl", args.videos)
    t0 = time.perf_counter()
    report = {"settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
              "zero": run_start("zero", args.base, args, held), "cold_start": run_start("cold_start", args.sft, args, held)}
    if args.captioned:
        from fingereval.tiny.align import align_captions

        aligned = align_captions(args.base, args.probes, args.out / "captioned-base", video_config=DEMO_VIDEO, seed=args.seed)
        report["zero_captioned"] = run_start("zero_captioned", aligned.out_dir, args, held)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    for name in [k for k in ("zero", "cold_start", "zero_captioned") if k in report]:
        r = report[name]
        print(f"{name:10s} held-out {r['held_out_accuracy'][0]:.1%} -> {r['held_out_accuracy'][1]:.1%} "
              f"({r['held_out_questions']} q); fixed-set format {r['fixed_set_format_reward']}, "
              f"accuracy {r['fixed_set_accuracy_reward']}; groups with one reward {r['groups_all_same_reward']}, "
              f"reward std {r['reward_std']}")
        for ex in r["examples_after"]:
            print(f"    {ex['question']} [{ex['human_answer']}] p_yes {ex['p_yes']:.2f}: {ex['reason']!r}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
