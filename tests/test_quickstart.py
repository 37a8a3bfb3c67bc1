"""The README's quick start, run as written (the same bash block, in an empty folder with the project's
environment at .venv): the three first things a new user does work offline with the tiny model."""
from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def quick_start_block(text: str) -> str:
    section = text.split("## Quick start", 1)[1] if "## Quick start" in text else text
    return re.search(r"```bash\n(.*?)```", section, flags=re.S).group(1)


def test_the_docs_page_shows_the_same_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    page = (ROOT / "docs" / "quickstart.md").read_text(encoding="utf-8")
    assert quick_start_block(readme) == quick_start_block(page)


def test_the_readme_quick_start_runs_as_written(tmp_path):
    script = quick_start_block((ROOT / "README.md").read_text(encoding="utf-8"))
    (tmp_path / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, (done.stdout[-2000:], done.stderr[-3000:])
    one = json.loads(next(line for line in done.stdout.splitlines() if line.startswith("{")))
    assert one["questions"]
    by_dimension: dict[str, list[float]] = {}  # the score's rule from its definition: P(the good answer), then means
    for q in one["questions"]:
        by_dimension.setdefault(q["dimension"], []).append(q["p_yes"] if q["good_answer"] == "yes" else 1 - q["p_yes"])
    means = {k: sum(v) / len(v) for k, v in by_dimension.items()}
    assert {k: v for k, v in one["dimensions"].items() if v is not None} == pytest.approx(means, abs=1e-6)
    assert one["overall"] == pytest.approx(sum(means.values()) / len(means), abs=1e-6)  # equal weights by default
    with (tmp_path / "clips" / "prompts.csv").open(encoding="utf-8") as handle:
        n_videos = len(list(csv.DictReader(handle)))
    for results in ("a.jsonl", "b.jsonl"):
        rows = [json.loads(line) for line in (tmp_path / results).read_text(encoding="utf-8").splitlines()]
        assert len(rows) == n_videos and all("error" not in row for row in rows)
    table = [line for line in done.stdout.splitlines() if line.startswith("|")]
    by_model = {line.split("|")[1].strip(): line.split("|")[4].strip() for line in table[2:]}
    assert set(by_model) == {"tiny", "tiny-b"}
    assert by_model["tiny"] != by_model["tiny-b"]  # two random models: their mean overall differs
