"""FingER's training table in miniature, on the probe world where every answer and finding is known.

Rows, each trained from the same vision-pretrained tiny base (fingereval.tiny) on the same training videos
and measured on the same held-out questions (greedy, `bench qa`'s answerer):

- base: zero-shot (the tower pretrained on scene labels; the language model never saw a question);
- SFT answer-only (`<answer>` alone) and SFT with reasons (`<think>finding. sentence</think><answer>`);
- instruct base: the base after an instruction stage (fingereval.tiny.align.instruct_records): the answer format with
  the video's caption as its reason and coin-flip answers, as an instruction-tuned MLLM meets FingER's questions;
- GRPO zero (from the base), GRPO zero from the instruct base (the paper's Zero-GRPO: its base follows the format),
  and GRPO cold start (from SFT with reasons): TRL's GRPO, accuracy + format
  rewards (fingereval.train.grpo; `--reward graded`: the probability of the right answer + format), optionally on
  the hard tier's training questions only (a curriculum), or on questions SFT never saw (`--grpo-data unseen`: the
  held-out videos after the measured ones).

Per row: held-out accuracy overall, per dimension and on the hard tier, with 95 % intervals that resample
videos (fingereval.measure.clusters); the paired difference to the row it builds on, resampling videos
too; the format rate; the share of reasons whose finding equals the planted one (right), contradicts the
model's own answer, or is no finding of the asked form at all (caption-like or noise), and the share that is
caption-like (states three findings or more: describes the video instead of answering); for GRPO, the share of
groups whose rewards all agree (no advantage) and the mean reward spread. Over several seeds (each trains
every row again; `--world-per-seed` also draws a new world and tower per seed).

    python benchmarks/training_table.py --out runs/table --seeds 0 1 2 --json runs/table/table.json

Figures and the command as run: docs/training.md, "Training table".
"""
from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from statistics import mean

import numpy as np

from fingereval.answer.format import ANSWER_CLOSE, ANSWER_OPEN, parse_output
from fingereval.data.instruct import group_by_video, instruct_questions, load_instruct, write_instruct
from fingereval.measure.metrics import bootstrap_ci
from fingereval.probes.questions import finding_answer, finding_of, findings_stated
from fingereval.tiny.demo import DEMO_SFT, DEMO_VIDEO, DEMO_VISION, REASON_TOKENS

# one named shape and at most one unnamed still distractor (alignment depends on the prompt), radius 0.18 to keep
# two shapes apart, and the hard tier in two probes of five
TABLE_WORLD = dict(max_entities=1, radius=0.18, distractors=1, hard_share=0.4)
ROWS = ("base", "sft_answer", "sft_reason", "grpo_zero", "instruct", "grpo_zero_instruct", "grpo_cold")
LABELS = {"base": "base (zero-shot)", "sft_answer": "SFT answer-only", "sft_reason": "SFT with reasons",
          "grpo_zero": "GRPO zero", "instruct": "instruct base", "grpo_zero_instruct": "GRPO zero (instruct base)",
          "grpo_cold": "GRPO cold start"}
# (row, the row it builds on): the comparisons the paper's table makes; then zero against cold start
PAIRS = (("sft_answer", "base"), ("sft_reason", "sft_answer"), ("grpo_zero", "base"),
         ("grpo_zero_instruct", "instruct"), ("grpo_cold", "sft_reason"), ("grpo_cold", "grpo_zero_instruct"))
REASONED = {"base": True, "sft_answer": False, "sft_reason": True, "grpo_zero": True, "instruct": True,
            "grpo_zero_instruct": True, "grpo_cold": True}
GRPO_START = {"grpo_zero": None, "grpo_zero_instruct": "instruct", "grpo_cold": "sft_reason"}  # None: the base


# ---- world and base -----------------------------------------------------------------------------------

def prepare_world(root: Path, seed: int, args) -> tuple[Path, Path]:
    """(probe folder, vision-pretrained base) for one seed; reused when already there."""
    from fingereval.probes.make import make_probes, split_probes
    from fingereval.tiny.model import PROBE_SHAPE, build_tiny_model
    from fingereval.tiny.vision import pretrain_vision

    probes, base = root / "probes", root / "tiny-base"
    if not (probes / "qa_heldout.jsonl").exists():
        made = make_probes(probes, args.videos, seed=seed, size=DEMO_VIDEO.size, seconds=4.0, **TABLE_WORLD)
        split_probes(made.root, held_out=args.held_out_share, seed=seed)
    if not (base / "config.json").exists():
        random_base = build_tiny_model(root / "tiny-random", PROBE_SHAPE, seed=seed)
        pretrain_vision(random_base, probes, base, video_config=DEMO_VIDEO, seed=seed,
                        **DEMO_VISION | {"epochs": args.vision_epochs})
    return probes, base


def held_out_records(probes: Path, videos: int) -> list:
    groups = list(group_by_video(load_instruct(probes / "qa_heldout.jsonl")).values())
    return [r for recs in groups[:videos] for r in recs]


def tier_file(probes: Path, tier: str, data: str = "train", eval_videos: int = 0) -> Path:
    """GRPO's questions of one tier ('all': both): of the training file (`data` 'train', the questions SFT learnt),
    or 'unseen': of the held-out videos after the first `eval_videos` (those measured), which SFT never saw.
    SFT at the demo's budget nearly memorises its training questions (GRPO's sampled accuracy on them 0.90-0.92 a
    seed, 0.59-0.75 on unseen videos); neither set gave GRPO a gain (docs/training.md, "GRPO levers at the demo's
    budget")."""
    if data == "train":
        source, name = probes / "qa_train.jsonl", "qa_train"
        if tier == "all":
            return source
        records = load_instruct(source)
    else:  # the measured videos are held_out_records' first eval_videos: every other held-out video
        groups = list(group_by_video(load_instruct(probes / "qa_heldout.jsonl")).values())
        records, name = [r for recs in groups[eval_videos:] for r in recs], f"qa_unseen_after{eval_videos}"
    out = probes / f"{name}_{tier}.jsonl"
    if not out.exists():
        write_instruct(out, [r for r in records if tier == "all" or getattr(r, "tier", "plain") == tier])
    return out


# ---- training ------------------------------------------------------------------------------------------

def train_row(row: str, run: Path, probes: Path, base: Path, seed: int, args) -> tuple[Path, dict]:
    """Train one row (reusing a finished checkpoint); returns (model folder, what training logged)."""
    from fingereval.tiny.align import instruct_records
    from fingereval.train.grpo import train_grpo
    from fingereval.train.sft import train_sft

    out = run / row
    if row == "base":
        return base, {}
    if (out / "train_log.json").exists():  # finished before: its record (settings with the seconds, the log)
        return out, _summary(json.loads((out / "train_log.json").read_text()))
    start = time.perf_counter()
    if row.startswith("sft") or row == "instruct":
        data = probes / "qa_train.jsonl"
        if row == "instruct":  # the same SFT on the instruction stage's rows (captions, coin-flip answers)
            run.mkdir(parents=True, exist_ok=True)
            data = write_instruct(run / "qa_train_instruct.jsonl", instruct_records(probes, seed))
        result = train_sft(data, base, out, reason=row != "sft_answer", lora=False,
                           video_config=DEMO_VIDEO, seed=seed,
                           **DEMO_SFT | {"epochs": args.sft_epochs, "micro_batches": args.sft_micro_batches,
                                         "schedule": args.sft_schedule})
    else:
        start_model = run / GRPO_START[row] if GRPO_START[row] else base
        steps = args.zero_steps if row.startswith("grpo_zero") and args.zero_steps else args.grpo_steps
        data = tier_file(probes, args.grpo_tier, args.grpo_data, args.eval_videos)
        result = train_grpo(data, start_model, out, steps=steps,
                            group_size=args.group_size, prompts_per_step=args.prompts_per_step, lr=args.grpo_lr,
                            max_completion=REASON_TOKENS, video_config=DEMO_VIDEO, seed=seed,
                            temperature=args.temperature, beta=args.beta, reward=args.reward)
    log = {"log_history": result.log_history, "seconds": time.perf_counter() - start}
    return out, _summary(log)


def _summary(log: dict) -> dict:
    """GRPO's group statistics (share of groups with one reward, mean reward spread), the loss, the seconds."""
    history = log.get("log_history", [])

    def values(key: str) -> list[float]:
        return [float(e[key]) for e in history if e.get(key) is not None]

    out = {"seconds": round(float(log.get("seconds") or log.get("settings", {}).get("seconds") or 0), 1)}
    for key, name in (("frac_reward_zero_std", "groups_one_reward"), ("reward_std", "reward_std"),
                      ("reward", "reward"), ("loss", "loss")):
        v = values(key)
        if v:
            out[name] = round(mean(v), 4)
            out[name + "_first_last"] = [round(v[0], 4), round(v[-1], 4)]
    return out


# ---- measuring -----------------------------------------------------------------------------------------

def answer_rows(model: Path, records: Sequence, reason: bool, cluster_prefix: str) -> list[dict]:
    """Greedy answers to every record, video by video, with what each row needs to be judged."""
    from fingereval.answer.transformers_backend import TransformersAnswerer
    from fingereval.video import load_video

    answerer = TransformersAnswerer(model, video_config=DEMO_VIDEO, max_new_tokens=REASON_TOKENS)
    rows = []
    for video, recs in group_by_video(records).items():
        answers = answerer.answer(load_video(video, answerer.video_config), instruct_questions(recs), reason=reason)
        for r, a in zip(recs, answers):
            said = "yes" if a.p_yes >= 0.5 else "no"
            rows.append({"cluster": f"{cluster_prefix}{Path(video).name}", "id": r.id, "dimension": r.dimension,
                         "form": r.form, "tier": getattr(r, "tier", "plain"), "hit": said == r.answer,
                         **judge_reason(r, said, a.output if reason else None)})
    return rows


def judge_reason(record, said: str, output: str | None) -> dict:
    """Format, and the reason's finding checked against the plan (right) and against the model's own answer."""
    if output is None:  # answer-only: no reason to judge
        return {"well_formed": None, "finding_right": None, "contradicts": None, "no_finding": None,
                "caption_like": None, "finding_stated": None}
    # the answerer stops at the answer slot and reads the word there (fingereval.answer.transformers_backend): its
    # output ends with `<answer>` unless it wrote none (forced); the word it read completes the strict format
    if output.rstrip().endswith(ANSWER_OPEN):
        output = output.rstrip() + ("Yes" if said == "yes" else "No") + ANSWER_CLOSE
    parsed = parse_output(output)
    found = finding_of(parsed.reason or output)
    implied = finding_answer(record.form, record.question, found)
    return {"well_formed": parsed.well_formed, "finding_right": found == finding_of(record.reason),
            "contradicts": implied is not None and implied != said, "no_finding": implied is None,
            "caption_like": findings_stated(parsed.reason or output) >= 3,
            "finding_stated": _states(parsed.reason or output, finding_of(record.reason)),
            "reason": (parsed.reason or output)[:160]}


def _states(text: str, finding: str) -> bool:
    """Whether one of the text's sentences is the planted finding: a caption can state it without opening with it."""
    return bool(finding) and finding in {sentence.strip() for sentence in text.split(".")}


def _share(rows: list[dict], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return round(float(np.mean(values)), 4) if values else None


def accuracy(rows: list[dict], n_resamples: int) -> dict:
    """Accuracy with its 95 % interval over resampled videos (all their questions, every seed's answers)."""
    hits = np.array([r["hit"] for r in rows], dtype=float)
    if len(rows) == 0:
        return {"accuracy": None, "n": 0}
    clusters = [r["cluster"] for r in rows]
    ci = bootstrap_ci(np.mean, hits, n_resamples=n_resamples, clusters=clusters) if len(set(clusters)) > 1 else None
    return {"accuracy": round(float(hits.mean()), 4), "ci95": [round(ci.low, 4), round(ci.high, 4)] if ci else None,
            "n": len(rows)}


def paired(rows_a: list[dict], rows_b: list[dict], n_resamples: int, keep: Callable[[dict], bool] = lambda r: True
           ) -> dict:
    """a minus b on the same questions (same seed, same id), with a 95 % interval over resampled videos."""
    b = {(r["seed"], r["id"]): r for r in rows_b}
    pairs = [(r, b[(r["seed"], r["id"])]) for r in rows_a if (r["seed"], r["id"]) in b and keep(r)]
    if len({ra["cluster"] for ra, _ in pairs}) < 2:
        return {"difference": None, "n": len(pairs)}
    diff = np.array([float(ra["hit"]) - float(rb["hit"]) for ra, rb in pairs])
    ci = bootstrap_ci(np.mean, diff, n_resamples=n_resamples, clusters=[ra["cluster"] for ra, _ in pairs])
    return {"difference": round(float(diff.mean()), 4), "ci95": [round(ci.low, 4), round(ci.high, 4)], "n": len(pairs)}


def row_report(rows: list[dict], n_resamples: int) -> dict:
    dims = sorted({r["dimension"] for r in rows})
    seeds = sorted({r["seed"] for r in rows})
    return {
        **accuracy(rows, n_resamples),
        "hard": accuracy([r for r in rows if r["tier"] == "hard"], n_resamples),
        "per_dimension": {d: accuracy([r for r in rows if r["dimension"] == d], n_resamples) for d in dims},
        "per_seed": {str(s): round(float(np.mean([r["hit"] for r in rows if r["seed"] == s])), 4) for s in seeds},
        "format_rate": _share(rows, "well_formed"), "finding_right": _share(rows, "finding_right"),
        "finding_contradicts_answer": _share(rows, "contradicts"), "no_finding": _share(rows, "no_finding"),
        "caption_like": _share(rows, "caption_like"), "finding_stated": _share(rows, "finding_stated"),
        "examples": [r["reason"] for r in rows if r.get("reason")][:4],
    }


def table_report(answers: dict[str, list[dict]], training: dict[str, list[dict]], n_resamples: int) -> dict:
    rows = {name: row_report(answers[name], n_resamples) for name in ROWS if answers.get(name)}
    for name, runs in training.items():
        if name in rows and runs:
            rows[name]["training"] = runs
    pairs = {f"{a} - {b}": {"all": paired(answers[a], answers[b], n_resamples),
                            "hard": paired(answers[a], answers[b], n_resamples, keep=lambda r: r["tier"] == "hard")}
             for a, b in PAIRS if answers.get(a) and answers.get(b)}
    return {"rows": rows, "paired": pairs}


def markdown(report: dict) -> str:
    """The table as docs/training.md shows it."""
    def pct(cell: dict | None) -> str:
        if not cell or cell.get("accuracy") is None:
            return "-"
        if not cell.get("ci95"):
            return f"{cell['accuracy']:.1%}"
        return f"{cell['accuracy']:.1%} [{cell['ci95'][0]:.1%}, {cell['ci95'][1]:.1%}]"

    def share(v) -> str:
        return "-" if v is None else f"{v:.0%}"

    rows = report["rows"]
    dims = sorted({d for r in rows.values() for d in r["per_dimension"]})
    head = ["row", "held-out", "hard tier", *dims, "format", "finding right", "contradicts", "no finding",
            "caption-like", "finding stated", "groups one reward", "reward spread"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in rows.items():
        runs = r.get("training", [])
        one = [t["groups_one_reward"] for t in runs if "groups_one_reward" in t]
        spread = [t["reward_std"] for t in runs if "reward_std" in t]
        cells = [LABELS[name], pct(r), pct(r["hard"]), *(f"{r['per_dimension'][d]['accuracy']:.1%}" for d in dims),
                 share(r["format_rate"]), share(r["finding_right"]), share(r["finding_contradicts_answer"]),
                 share(r["no_finding"]), share(r.get("caption_like")),
                 share(r.get("finding_stated")), share(mean(one)) if one else "-",
                 f"{mean(spread):.3f}" if spread else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "| paired difference | all questions | hard tier |", "|---|---|---|"]
    for name, p in report["paired"].items():
        a, b = name.split(" - ")
        cell = [f"{p[k]['difference']:+.1%} [{p[k]['ci95'][0]:+.1%}, {p[k]['ci95'][1]:+.1%}]"
                if p[k].get("difference") is not None else "-" for k in ("all", "hard")]
        lines.append(f"| {LABELS[a]} - {LABELS[b]} | {cell[0]} | {cell[1]} |")
    return "\n".join(lines)


# ---- the run -------------------------------------------------------------------------------------------

def _backfill(row: dict, record) -> dict:
    """A row answered before the caption-like and finding-stated columns, judged on the reason it kept (its first
    160 characters: a caption states its third finding within 40)."""
    if row.get("no_finding") is None or record is None:  # answer-only, or a question no longer measured
        return row
    reason = row.get("reason") or ""
    return {"caption_like": findings_stated(reason) >= 3, "finding_stated": _states(reason, finding_of(record.reason)),
            **row}


def run_seed(seed: int, args, answers: dict, training: dict) -> None:
    world_seed = seed if args.world_per_seed else args.world_seed
    world_root = args.out / f"world-{world_seed}"
    probes, base = prepare_world(world_root, world_seed, args)
    held = held_out_records(probes, args.eval_videos)
    run = args.out / f"seed-{seed}"
    for row in args.rows:
        t0 = time.perf_counter()
        model, trained = train_row(row, run, probes, base, seed, args)
        cache = run / f"{row}.answers.json"
        if cache.exists():
            by_id = {r.id: r for r in held}
            rows = [_backfill(r, by_id.get(r["id"])) for r in json.loads(cache.read_text())]
        else:
            rows = [dict(r, seed=seed) for r in answer_rows(model, held, REASONED[row], f"{world_root.name}:")]
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps(rows))
        answers.setdefault(row, []).extend(rows)
        if trained:
            training.setdefault(row, []).append(dict(trained, seed=seed))
        print(f"seed {seed} {row}: {np.mean([r['hit'] for r in rows]):.1%} of {len(rows)} "
              f"({time.perf_counter() - t0:.0f} s) {trained}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--rows", nargs="+", default=list(ROWS), choices=ROWS)
    ap.add_argument("--world-per-seed", action="store_true", help="a new world and tower per seed (default: one)")
    ap.add_argument("--world-seed", type=int, default=0, help="the one world's seed (without --world-per-seed)")
    ap.add_argument("--videos", type=int, default=320)
    ap.add_argument("--held-out-share", type=float, default=0.25)
    ap.add_argument("--eval-videos", type=int, default=60, help="held-out videos measured (all their questions)")
    ap.add_argument("--vision-epochs", type=int, default=12)
    ap.add_argument("--sft-epochs", type=float, default=3.0)
    # transformers' batch_rebalance sampler (micro-batches > 1) shuffles with its own fixed seed (42), not the
    # run's: every seed then trains SFT on the same order. 1 keeps the seeded random order (1.17x slower).
    ap.add_argument("--sft-micro-batches", type=int, default=1)
    # every table in docs/training.md was measured at the constant rate the demo used then (it now decays: cosine)
    ap.add_argument("--sft-schedule", choices=("constant", "cosine", "linear"), default="constant")
    ap.add_argument("--grpo-steps", type=int, default=30)
    ap.add_argument("--zero-steps", type=int, help="GRPO zero's steps, when fewer (default: --grpo-steps)")
    ap.add_argument("--group-size", type=int, default=8)
    ap.add_argument("--prompts-per-step", type=int, default=4)
    ap.add_argument("--grpo-lr", type=float, default=1e-4)
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--beta", type=float, default=0.04, help="KL weight")
    ap.add_argument("--reward", choices=("accuracy", "graded"), default="accuracy",
                    help="GRPO's answer reward (with format): the paper's accuracy, or the probability of the "
                         "right answer (graded)")
    ap.add_argument("--grpo-tier", choices=("all", "hard", "plain"), default="all",
                    help="GRPO's training questions: all, or one tier only (a curriculum of the hard tier)")
    ap.add_argument("--grpo-data", choices=("train", "unseen"), default="train",
                    help="GRPO's questions: SFT's training file, or unseen: the held-out videos not measured "
                         "(after the first --eval-videos), questions SFT never saw")
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    t0 = time.perf_counter()
    answers: dict[str, list[dict]] = {}
    training: dict[str, list[dict]] = {}
    for seed in args.seeds:  # finished rows are read back (checkpoint, answers), so a rerun only adds what is missing
        run_seed(seed, args, answers, training)
    report = table_report(answers, training, args.resamples)
    report["settings"] = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    report["world"] = TABLE_WORLD
    report["seconds"] = round(time.perf_counter() - t0, 1)
    print(markdown(report))
    print(f"{report['seconds']:.0f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
