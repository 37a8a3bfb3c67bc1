"""The demo end to end at a toy size: every stage runs and the summary records before and after."""
from __future__ import annotations

import json

from rich.console import Console

from fingereval.data.instruct import group_by_video, load_instruct
from fingereval.demo import BEFORE_EVERY, run_demo


def test_demo_runs_every_stage_and_writes_its_summary(tmp_path):
    console = Console(record=True, width=160)
    summary = run_demo(tmp_path / "demo", n_videos=10, seed=1, console=console, epochs=1.0, vision_epochs=1)
    saved = json.loads((tmp_path / "demo" / "summary.json").read_text())
    held_out = list(group_by_video(load_instruct(tmp_path / "demo" / "probes" / "qa_heldout.jsonl")).values())
    assert saved["videos"] == 10 and saved["after"]["n"] == sum(len(v) for v in held_out) > 0
    # "before" reads every BEFORE_EVERY-th held-out video's questions (the untrained model is slow and at chance)
    assert 0 < saved["before"]["n"] == sum(len(v) for v in held_out[::BEFORE_EVERY]) < saved["after"]["n"]
    assert 0 <= saved["before"]["accuracy"] <= 1 and 0 <= saved["after"]["accuracy"] <= 1
    assert 0 <= saved["vision_label_accuracy"] <= 1
    for stage in ("tiny-random", "tiny-base", "sft"):
        assert (tmp_path / "demo" / stage / "config.json").exists(), stage
    text = console.export_text()
    assert "before / after" in text and "overall" in text and text.count("reason") >= 2
    assert summary["after"] == saved["after"]
