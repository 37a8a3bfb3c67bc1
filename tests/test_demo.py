"""The demo end to end at a toy size: every stage runs and the summary records before and after."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from rich.console import Console

from fingereval.data.instruct import group_by_video, load_instruct
from fingereval.tiny.demo import BEFORE_EVERY, DEMO_WORLD, run_demo


def test_demo_runs_every_stage_and_writes_its_summary(tmp_path):
    console = Console(record=True, width=160)
    summary = run_demo(tmp_path / "demo", n_videos=10, seed=1, console=console, epochs=1.0, vision_epochs=1)
    saved = json.loads((tmp_path / "demo" / "summary.json").read_text())
    held_out = list(group_by_video(load_instruct(tmp_path / "demo" / "probes" / "qa_heldout.jsonl")).values())
    assert saved["videos"] == 10 and saved["after"]["n"] == sum(len(v) for v in held_out) > 0
    # "before" reads every BEFORE_EVERY-th held-out video's questions (the untrained model is slow and at chance)
    assert 0 < saved["before"]["n"] == sum(len(v) for v in held_out[::BEFORE_EVERY]) < saved["after"]["n"]
    for stage, videos in (("before", held_out[::BEFORE_EVERY]), ("after", held_out)):
        report, records = saved[stage], [r for recs in videos for r in recs]
        # counts and baselines recomputed here from the held-out file, not read back from the demo
        assert {k: v["n"] for k, v in report["per_dimension"].items()} == Counter(r.dimension for r in records)
        assert report["always_yes_accuracy"] == pytest.approx(sum(r.answer == "yes" for r in records) / len(records))
        right = {k: v["accuracy"] * v["n"] for k, v in report["per_dimension"].items()}
        assert all(x == pytest.approx(round(x)) for x in right.values())  # whole questions right per dimension
        assert report["accuracy"] == pytest.approx(sum(right.values()) / report["n"])
        # the interval resamples held-out videos, and the console says so
        assert report["bootstrap"]["unit"] == "video" and report["bootstrap"]["videos"] == len(videos)
        if len(videos) > 1:
            low, high = report["ci95"]
            assert low <= report["accuracy"] <= high
            shown = f"[95 % CI {low:.1%}-{high:.1%} over {len(videos)} resampled videos]"
            assert shown in console.export_text(clear=False)
    vision = json.loads((tmp_path / "demo" / "tiny-base" / "train_log.json").read_text())  # the tower's own log
    per_label = vision["settings"]["held_out_per_label"]
    assert per_label and saved["vision_label_accuracy"] == pytest.approx(sum(per_label.values()) / len(per_label),
                                                                         abs=1e-4)
    assert saved["vision_label_accuracy"] == vision["log_history"][-1]["held_out_accuracy"]
    for stage in ("tiny-random", "tiny-base", "sft"):
        assert (tmp_path / "demo" / stage / "config.json").exists(), stage
    text = console.export_text()
    assert "before / after" in text and "overall" in text and text.count("reason") >= 2
    for recs in held_out[:2]:  # the first two held-out videos are the ones scored and explained
        assert Path(recs[0].video).name in text
    assert summary["after"] == saved["after"]
    manifest = json.loads((tmp_path / "demo" / "probes" / "manifest.json").read_text())
    assert {k: manifest[k] for k in DEMO_WORLD} == DEMO_WORLD  # the world docs/demo.md describes
    # the reason check, recomputed from the saved answers and the planted findings in the held-out file
    answers = [json.loads(line) for line in (tmp_path / "demo" / "heldout_answers.jsonl").read_text().splitlines()]
    truth = {r.id: r for recs in held_out for r in recs}
    assert sorted(a["id"] for a in answers) == sorted(truth)
    right = sum(a["reason"].split(".")[0].strip() == truth[a["id"]].reason.split(".")[0] for a in answers)
    assert saved["after"]["reasons"]["finding_right"] == pytest.approx(right / len(answers))
    assert saved["after"]["reasons"]["n"] == len(answers)
    assert 0 <= saved["after"]["reasons"]["finding_contradicts_answer"] <= 1 - saved["after"]["reasons"]["no_finding"]
