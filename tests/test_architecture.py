"""The import directions of the code, checked on every import statement (lazy ones inside functions too).

Data flows one way: records <- ask, answer, score <- evaluator / batch <- cli. Training and measurement sit
beside scoring, the tiny world (probes' model, its vision pretraining, the demo) may use anything but nothing
of the core uses it, and nothing imports the CLI.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "fingereval"
RECORDS = {"dimensions", "schema", "errors", "text", "registry", "video", "io"}
# role -> the roles it may import (besides itself and the records)
ALLOWED: dict[str, set[str]] = {
    "ask": set(),
    "answer": set(),
    "score": set(),
    "data": set(),
    "probes": {"data"},
    "measure": {"data", "score", "answer"},  # answer: the interface and registry, for benchmarks that run a model
    "train": {"answer", "data"},
    "evaluator": {"ask", "answer", "score"},
    "config": {"answer", "evaluator"},
    "batch": {"evaluator", "schema", "text"},
    "ray_batch": {"batch", "config", "evaluator"},
    "tiny": {"ask", "answer", "score", "data", "probes", "measure", "train", "evaluator", "config", "batch"},
    "serve": {"ask", "answer", "score", "evaluator", "config", "batch"},  # the scoring service (FastAPI)
    "client": set(),  # the service's client: records only, so a trainer imports it without torch
    "report": {"score", "measure"},  # the HTML report of a results file
    "annotate": {"data", "measure"},  # the annotation app, Label Studio interchange
    "export": {"score", "measure", "folders"},  # results to CSV / Parquet / Markdown
    "doctor": {"answer", "config"},  # the environment checks
    "preflight": {"batch", "answer", "score"},  # every input checked before a model loads
    "folders": set(),  # a folder of videos and a prompts file as a manifest
    "cli": {"ask", "answer", "score", "data", "probes", "measure", "train", "evaluator", "config", "batch",
            "ray_batch", "tiny", "__init__", "serve", "client", "report", "annotate", "export", "doctor",
            "preflight", "folders"},
    "__init__": {"evaluator"},
}


def _role(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports() -> list[tuple[str, str, int]]:
    """(importing file's role, imported fingereval module, line) for every fingereval import in src/."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC.parent).with_suffix("")
        module = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fingereval"):
                targets = [node.module]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("fingereval")]
            else:
                continue
            found += [(_role(module) if module != "fingereval" else "__init__", t, node.lineno, str(path)) for t in targets]
    return found


def _violations() -> list[str]:
    bad = []
    for role, target, line, path in _imports():
        to = _role(target) if target != "fingereval" else "__init__"
        if to == role or to in RECORDS or to in ALLOWED.get(role, set()):
            continue
        bad.append(f"{Path(path).relative_to(SRC.parent)}:{line}: {role} imports {target}")
    return bad


def test_every_import_runs_with_the_allowed_directions():
    assert _violations() == []


def test_the_guard_sees_lazy_imports_and_would_catch_a_wrong_one(tmp_path, monkeypatch):
    imports = _imports()
    assert any(role == "evaluator" and target == "fingereval.answer" for role, target, *_ in imports)  # inside __init__
    assert len({role for role, *_ in imports}) >= 10
    monkeypatch.setitem(ALLOWED, "score", set())
    monkeypatch.setitem(ALLOWED, "evaluator", {"ask", "score"})  # take answer away: the evaluator's import shows
    assert any("evaluator imports fingereval.answer" in v for v in _violations())


@pytest.mark.parametrize("core", ["ask", "answer", "score", "data", "measure", "train", "evaluator", "batch"])
def test_no_core_package_imports_the_cli_or_the_tiny_world(core):
    assert not {"cli", "tiny"} & ALLOWED[core]


def test_only_the_cli_and_the_demo_import_typer_or_rich_tables():
    """Library code returns data; printing tables and parsing options is the CLI's (and the demo's) job."""
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        if path.parent.name in ("cli", "tiny"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([node.module] if isinstance(node, ast.ImportFrom) and node.module else
                     [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            offenders += [f"{path.name}:{node.lineno} {n}" for n in names if n == "typer" or n.startswith("rich.table")]
    assert offenders == []
