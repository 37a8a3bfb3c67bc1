"""The demo end to end at a toy size: every stage runs and the summary records before and after."""
from __future__ import annotations

import json

from rich.console import Console

from fingereval.demo import run_demo


def test_demo_runs_every_stage_and_writes_its_summary(tmp_path):
    console = Console(record=True, width=160)
    summary = run_demo(tmp_path / "demo", n_videos=10, seed=1, console=console, epochs=1.0, vision_epochs=1)
    saved = json.loads((tmp_path / "demo" / "summary.json").read_text())
    assert saved["videos"] == 10 and saved["before"]["n"] == saved["after"]["n"] > 0
    assert 0 <= saved["before"]["accuracy"] <= 1 and 0 <= saved["after"]["accuracy"] <= 1
    assert 0 <= saved["vision_label_accuracy"] <= 1
    for stage in ("tiny-random", "tiny-base", "sft"):
        assert (tmp_path / "demo" / stage / "config.json").exists(), stage
    text = console.export_text()
    assert "before / after" in text and "overall" in text and text.count("reason") >= 2
    assert summary["after"] == saved["after"]
