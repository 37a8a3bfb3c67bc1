"""The offline demo: the whole method on CPU in a few minutes, on the synthetic probe world.

probes (train / held-out by video) -> tiny Qwen2.5-VL -> its vision tower pretrained on scene labels (a stand-in
for a pretrained MLLM's encoder; no questions) -> held-out accuracy before -> SFT with reasons -> held-out
accuracy after -> two held-out videos scored and explained -> before/after table.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from fingereval.io import write_jsonl
from fingereval.video import VideoConfig

# Probe videos are small: 112x112, 4 s, sampled at 2 fps (8 frames, 16 video tokens of 8 frames each).
DEMO_VIDEO = VideoConfig(fps=2.0, max_frames=8, size=112)
# One large shape per video: pooled scene labels then say what that shape does (with several shapes the
# model would also have to bind each label to its shape, which takes far more training than a CPU demo has).
# `disguise`: a shape the prompt does not name (recoloured, or a stand-in for an absent one) carries a named
# shape's defects; without it such shapes were always clean and the model answered "does the X appear" from
# the defects, not from the question: it failed bench stability's prompt swap (docs/demo.md, "Three seeds").
DEMO_WORLD = dict(max_entities=1, radius=0.2, disguise=True)
# The runs behind these settings are in docs/tiny-model.md.
# One tower call per batch makes 24 epochs cheap; at 3e-3 the tower learned colour and motion but not texture.
DEMO_VISION = dict(epochs=24, lr=3e-4, batch_size=16)
# Packed SFT (all questions of a video in one row), 8 videos a step in 2 micro-batches of similar length
# (the same step with less padding); 10 epochs: with 5 the disguised world's colour comparison was learned on
# one seed in three, with 8 seed 1's temporal consistency stayed at 74.5 % (docs/demo.md, "Three seeds").
# The pretrained tower stays frozen: at SFT's learning rate it loses what it learned of texture (blur, noise)
# and visual quality fell to chance. A cosine decay of the rate: at a constant 1e-3 the last steps' batches
# decided the weights, and one seed-0 run ended at 68.6 % factual consistency (cosine: 86.3 % on its world and
# tower; the weakest dimension of three seeds 75.5-87.5 % against 68.6-84.1 %; docs/demo.md, "Three seeds").
DEMO_SFT = dict(epochs=10.0, lr=1e-3, batch_size=8, schedule="cosine", micro_batches=2, freeze_vision=True)
ANSWERS_FILE = "heldout_answers.jsonl"
REASON_TOKENS = 80  # room for the longest probe reason with its tags (47 tokens on the probe vocabulary)
# The untrained model writes noise up to REASON_TOKENS for every question and sits at chance on any share,
# so "before" reads one held-out video in three.
BEFORE_EVERY = 3


def _accuracy(model_dir: Path, held_out: Path, reason: bool, console: Console, every: int = 1) -> dict:
    """Held-out accuracy on every `every`-th held-out video's questions (all of them by default), and how its
    reasons' findings compare with the planted ones and with its own answers (`reasons`)."""
    from fingereval.answer.transformers_backend import TransformersAnswerer
    from fingereval.data.instruct import group_by_video, load_instruct
    from fingereval.measure.model_bench import evaluate_qa

    ans = TransformersAnswerer(model_dir, video_config=DEMO_VIDEO, max_new_tokens=REASON_TOKENS)
    videos = list(group_by_video(load_instruct(held_out)).values())[::every]
    records = [r for recs in videos for r in recs]
    report = evaluate_qa(ans, records, reason=reason, progress=console.is_terminal, n_resamples=500, keep_rows=True)
    report["reasons"] = reason_check(records, report["rows"])
    return report


def reason_check(records: list, rows: list[dict]) -> dict:
    """Shares of reasons whose finding equals the planted one, contradicts the model's own answer, or is no finding
    of the asked form (fingereval.probes.questions.finding_answer)."""
    from fingereval.probes.questions import finding_answer, finding_of

    by_id = {r.id: r for r in records}
    right = contradicts = none = 0
    for row in rows:
        record = by_id[row["id"]]
        found = finding_of(row["reason"])
        implied = finding_answer(record.form, record.question, found)
        said = "yes" if row["p_yes"] >= 0.5 else "no"
        right += found == finding_of(record.reason)
        none += implied is None
        contradicts += implied is not None and implied != said
    n = max(len(rows), 1)
    return {"finding_right": right / n, "finding_contradicts_answer": contradicts / n, "no_finding": none / n,
            "n": len(rows)}


def _interval(report: dict) -> str:
    """The 95 % interval of a bench-qa report, which resamples videos (their questions are not independent)."""
    if report["ci95"] is None:
        return "(no interval: one video)"
    low, high = report["ci95"]
    return f"[95 % CI {low:.1%}-{high:.1%} over {report['bootstrap']['videos']} resampled videos]"


def _explain_two(model_dir: Path, held_out: Path, console: Console) -> list:
    from fingereval.answer.transformers_backend import TransformersAnswerer
    from fingereval.data.instruct import group_by_video, load_instruct
    from fingereval.evaluator import Evaluator
    from fingereval.schema import Question, QuestionSet

    ev = Evaluator(answerer=TransformersAnswerer(model_dir, video_config=DEMO_VIDEO, max_new_tokens=REASON_TOKENS), reason=True)
    results = []
    for video, recs in list(group_by_video(load_instruct(held_out)).items())[:2]:
        qs = QuestionSet(prompt=recs[0].prompt, generator="probes", questions=[
            Question(id=r.id or str(i), dimension=r.dimension, entity=r.entity, text=r.question, good_answer=r.good_answer)
            for i, r in enumerate(recs)])
        result = ev.score(video, questions=qs)
        truth = {r.id: r.answer for r in recs}
        results.append(result)
        t = Table(title=f"{Path(video).name}: \"{result.prompt}\"  overall {result.overall:.3f}", show_lines=False)
        for col in ("dimension", "question", "good", "model", "truth", "score", "reason"):
            t.add_column(col, overflow="fold")
        for q in result.questions:
            mark = "" if q.answer == truth.get(q.id) else " [red]x[/red]"
            t.add_row(q.dimension, q.question, q.good_answer, f"{q.answer} ({q.p_yes:.2f}){mark}", truth.get(q.id, "?"),
                      f"{q.score:.2f}", q.reason or "")
        console.print(t)
    return results


def run_demo(out_dir: Path, n_videos: int = 1000, seed: int = 0, console: Console | None = None,
             epochs: float | None = None, vision_epochs: int | None = None) -> dict:
    from fingereval.train.sft import train_sft

    console = console or Console()
    out_dir = Path(out_dir)
    t0 = time.perf_counter()
    probes, train_path, held_path = _probe_world(out_dir, n_videos, seed, console)
    base, vision = _pretrained_base(out_dir, probes.root, seed, vision_epochs, console)

    console.rule("[bold]3. held-out accuracy before training")
    before = _accuracy(base, held_path, reason=True, console=console, every=BEFORE_EVERY)
    before.pop("rows")
    console.print(f"accuracy {before['accuracy']:.1%} {_interval(before)} on {before['n']} held-out questions "
                  f"(one held-out video in {BEFORE_EVERY}; always-yes would get {before['always_yes_accuracy']:.1%})")

    console.rule("[bold]4. SFT with reasons (TRL SFTTrainer)")
    sft_dir = out_dir / "sft"
    settings = DEMO_SFT | ({"epochs": epochs} if epochs else {})
    trained = train_sft(train_path, base, sft_dir, reason=True, lora=False, video_config=DEMO_VIDEO, seed=seed, **settings)
    losses = trained.logged("loss")
    if losses:
        console.print(f"loss {losses[0]:.3f} -> {losses[-1]:.3f} in {trained.seconds:.0f} s -> {sft_dir}")

    console.rule("[bold]5. held-out accuracy after SFT")
    after = _accuracy(sft_dir, held_path, reason=True, console=console)
    write_jsonl(out_dir / ANSWERS_FILE, after.pop("rows"))  # every held-out answer and reason, to check by hand
    console.print(f"accuracy {after['accuracy']:.1%} {_interval(after)} on {after['n']} held-out questions")
    check = after["reasons"]
    console.print(f"reasons: finding as planted {check['finding_right']:.1%}, finding contradicts the answer "
                  f"{check['finding_contradicts_answer']:.1%}, no finding of the asked kind {check['no_finding']:.1%}")

    console.rule("[bold]6. two held-out videos, scored and explained")
    _explain_two(sft_dir, held_path, console)
    console.rule("[bold]before / after")
    console.print(_before_after_table(before, after))
    summary = {"before": before, "after": after, "seconds": round(time.perf_counter() - t0, 1),
               "videos": probes.n_videos, "vision_label_accuracy": vision.held_out_accuracy,
               "sft_seconds": round(trained.seconds, 1), "sft_loss_first": losses[0] if losses else None,
               "sft_loss_last": losses[-1] if losses else None}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    console.print(f"done in {summary['seconds']:.0f} s; summary -> {out_dir / 'summary.json'}")
    return summary


def _probe_world(out_dir: Path, n_videos: int, seed: int, console: Console):
    """Step 1: the probe set and its train / held-out split by video."""
    from fingereval.probes.make import make_probes, split_probes

    console.rule("[bold]1. probe world")
    probes = make_probes(out_dir / "probes", n_videos, seed=seed, size=DEMO_VIDEO.size, seconds=4.0, **DEMO_WORLD)
    train_path, held_path = split_probes(probes.root, held_out=0.2, seed=seed)
    console.print(f"{probes.n_videos} videos, {probes.n_questions} questions with planted true answers -> {probes.root}")
    return probes, train_path, held_path


def _pretrained_base(out_dir: Path, probe_root: Path, seed: int, vision_epochs: int | None, console: Console):
    """Step 2: a random tiny Qwen2.5-VL whose vision tower is pretrained on the training videos' scene labels."""
    from fingereval.tiny.model import PROBE_SHAPE, build_tiny_model
    from fingereval.tiny.vision import pretrain_vision

    console.rule("[bold]2. tiny Qwen2.5-VL (random weights), vision tower pretrained on scene labels")
    random_base = build_tiny_model(out_dir / "tiny-random", PROBE_SHAPE, seed=seed)
    vision = pretrain_vision(random_base, probe_root, out_dir / "tiny-base", video_config=DEMO_VIDEO, seed=seed,
                             on_log=lambda m: console.print(m, highlight=False),
                             **DEMO_VISION | ({"epochs": vision_epochs} if vision_epochs else {}))
    console.print(f"held-out scene-label balanced accuracy {vision.held_out_accuracy:.1%} in {vision.seconds:.0f} s; "
                  f"the language model is untouched -> {vision.out_dir}")
    return vision.out_dir, vision


def _before_after_table(before: dict, after: dict) -> Table:
    table = Table("dimension", "before", "after", "questions before / after")
    for dim, v in after["per_dimension"].items():
        b = before["per_dimension"].get(dim, {})
        table.add_row(dim, f"{b.get('accuracy', float('nan')):.1%}", f"{v['accuracy']:.1%}", f"{b.get('n', 0)} / {v['n']}")
    table.add_row("[bold]overall", f"[bold]{before['accuracy']:.1%}", f"[bold]{after['accuracy']:.1%}",
                  f"{before['n']} / {after['n']}")
    return table
