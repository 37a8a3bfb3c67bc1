"""The import directions of the code, read from the one table in docs/architecture.md and checked on every import.

Data flows one way: records <- ask, answer, score <- evaluator / batch <- cli. Training and measurement sit
beside scoring, the tiny world (probes' model, its vision pretraining, the demo) uses the core but nothing of
the core uses it, and nothing imports the CLI. An import is an `import` / `from` statement (relative and lazy
ones too) or a string naming a module of the package (`importlib.import_module` and `__import__` arguments,
lazy-attribute tables, the registries' "module:Class" entries).
"""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "fingereval"
DOC = ROOT / "docs" / "architecture.md"
HEADER = "| role | where | what it holds | may import |"
MODULE_STRING = re.compile(r"fingereval(\.[A-Za-z_]\w*)+(:[A-Za-z_]\w*)?")


def read_table(text: str) -> tuple[dict[str, str], dict[str, set[str]]]:
    """(module name -> role, role -> the roles it may import) from the table under HEADER."""
    lines = text[text.index(HEADER):].splitlines()[2:]
    places, allowed = {}, {}
    for line in lines:
        if not line.startswith("|"):
            break
        role, where, _, may = (cell.strip() for cell in line.strip("|").split("|"))
        for entry in re.findall(r"`([^`]+)`", where):
            name = entry.removesuffix("/").removesuffix(".py").replace("/", ".")
            places["fingereval" if name == "__init__" else f"fingereval.{name}"] = role
        allowed[role] = {"*"} if may.startswith("anything") else set(re.findall(r"`([^`]+)`", may))
    return places, allowed


PLACES, ALLOWED = read_table(DOC.read_text(encoding="utf-8"))


def module_name(path: Path) -> str:
    rel = path.relative_to(SRC.parent).with_suffix("")
    return ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)


def role_of(module: str) -> str | None:
    """The role of the longest `where` entry that is `module` or a package above it."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in PLACES:
            return PLACES[".".join(parts[:n])]
    return None


def _is_module(name: str) -> bool:
    path = SRC.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports_of(path: Path, source: str | None = None) -> list[tuple[str, int, str]]:
    """(imported fingereval module, line, how) for every import of `path`: statements and module strings."""
    module = module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source if source is not None else path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:  # from . import x / from ..score import y
            base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
            names = [f"{target}.{a.name}" for a in node.names if _is_module(f"{target}.{a.name}")]
            found += [(t, node.lineno, "relative import") for t in names or [target]]
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "fingereval":
            names = [f"{node.module}.{a.name}" for a in node.names if _is_module(f"{node.module}.{a.name}")]
            found += [(t, node.lineno, "import") for t in names or [node.module]]
        elif isinstance(node, ast.Import):
            found += [(a.name, node.lineno, "import") for a in node.names if a.name.split(".")[0] == "fingereval"]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and MODULE_STRING.fullmatch(node.value):
            target = node.value.partition(":")[0]
            if ":" in node.value or _is_module(target):  # not an entry-point group or a logger's name alone
                found.append((target, node.lineno, f"string {node.value!r}"))
    return found


def violations(files: dict[Path, str] | None = None) -> list[str]:
    """Every import against the table, as `file:line: role imports module (how)`."""
    files = files or {p: p.read_text(encoding="utf-8") for p in sorted(SRC.rglob("*.py"))}
    bad = []
    for path, source in files.items():
        role = role_of(module_name(path))
        for target, line, how in imports_of(path, source):
            to = role_of(target)
            if to == role or {"*", to} & ALLOWED.get(role, set()):
                continue
            bad.append(f"{path.relative_to(SRC.parent)}:{line}: {role} imports {target} ({how})")
    return bad


def test_every_import_follows_the_table():
    assert violations() == []


def test_every_module_has_a_row():
    assert [str(p) for p in sorted(SRC.rglob("*.py")) if role_of(module_name(p)) is None] == []


def test_every_role_in_the_may_import_column_is_a_row():
    named = set().union(*ALLOWED.values()) - {"*"}
    assert named <= set(ALLOWED), named - set(ALLOWED)


def _planted(where: str, code: str) -> list[str]:
    """The violations of src/ with `code` appended to the module at `where` (nothing written to disk)."""
    files = {p: p.read_text(encoding="utf-8") for p in sorted(SRC.rglob("*.py"))}
    path = SRC / where
    files[path] += "\n" + code + "\n"
    return [v for v in violations(files) if v.startswith(str(path.relative_to(SRC.parent)))]


@pytest.mark.parametrize("where, code, shows", [
    ("score/aggregate.py", "from ..answer import tokens", "score imports fingereval.answer.tokens (relative import)"),
    ("score/aggregate.py", "from .. import evaluator", "score imports fingereval.evaluator (relative import)"),
    ("ask/templates.py", "def f():\n    from fingereval.cli import app", "ask imports fingereval.cli (import)"),
    ("measure/metrics.py", "import importlib\nM = importlib.import_module('fingereval.tiny.model')",
     "measure imports fingereval.tiny.model (string 'fingereval.tiny.model')"),
    ("answer/base.py", "M = __import__('fingereval.probes.world')", "answer imports fingereval.probes.world"),
    ("answer/__init__.py", "EXTRA = {'x': 'fingereval.train.sft:train_sft'}",
     "answer imports fingereval.train.sft (string 'fingereval.train.sft:train_sft')"),
    ("client.py", "from fingereval.answer.tokens import answer_slot", "client imports fingereval.answer.tokens"),
    ("batch.py", "from fingereval import evaluator", "batch imports fingereval.evaluator"),
])
def test_the_guard_sees_each_kind_of_import(where, code, shows):
    found = _planted(where, code)
    assert any(shows in v for v in found), found


def test_the_guard_reads_lazy_imports_and_the_registries():
    ask_init, answer_init = SRC / "ask" / "__init__.py", SRC / "answer" / "__init__.py"
    assert any(t == "fingereval.ask.templates" and how.startswith("string") for t, _, how in imports_of(ask_init))
    assert any(t == "fingereval.answer.transformers_backend" and how.startswith("string")
               for t, _, how in imports_of(answer_init))
    assert not any("answerers" in t for t, *_ in imports_of(answer_init))  # the entry-point group is not a module
    evaluator = [t for t, *_ in imports_of(SRC / "evaluator.py")]
    assert any(t.startswith("fingereval.answer") for t in evaluator)  # imported inside a function


def test_the_table_is_read_as_written():
    places, allowed = read_table("intro\n" + HEADER + "\n|---|---|---|---|\n"
                                 "| a | `a/`, `b.py` | x | `records` |\n| cli | `cli/` | y | anything; imported by nothing |\n\nafter")
    assert places == {"fingereval.a": "a", "fingereval.b": "a", "fingereval.cli": "cli"}
    assert allowed == {"a": {"records"}, "cli": {"*"}}


@pytest.mark.parametrize("core", ["records", "ask", "answer", "score", "data", "measure", "train", "evaluator",
                                  "config", "batch", "serve", "annotate", "client", "report", "export"])
def test_no_core_role_may_import_the_cli_or_the_tiny_world(core):
    assert not {"cli", "tiny", "*"} & ALLOWED[core]


def test_nothing_but_the_cli_may_import_the_cli():
    assert [role for role, may in ALLOWED.items() if "cli" in may or ("*" in may and role != "cli")] == []


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


LIGHT = """
import sys
import fingereval.client, fingereval.export, fingereval.report, fingereval.report.html
from fingereval.ask import get_generator
generator = get_generator("templates")
questions = generator.generate("a red ball rolls past a blue box")
assert questions.questions, questions
import fingereval.ask.llm, fingereval.ask.local
heavy = sorted(m for m in ("torch", "transformers", "trl", "peft", "ray") if m in sys.modules)
print(",".join(heavy))
"""


def test_the_client_question_generators_export_and_report_load_no_torch():
    """A trainer imports the client, a web app the generators, a notebook export and report: none pays for torch."""
    done = subprocess.run([sys.executable, "-c", LIGHT], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
