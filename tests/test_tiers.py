"""The tier table (tests/conftest.py TIERS) names real tests, and the fast tier keeps the guards of the core."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FEATURES, TIERS, _in_ci

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent


def _test_names(module: Path) -> set[str]:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test")}


def test_every_entry_of_the_tables_names_a_module_and_a_test_that_exist():
    """A renamed test would otherwise fall silently into the fast tier (or out of its feature)."""
    stale = []
    for key in [*TIERS, *FEATURES]:
        module, _, test = key.partition("::")
        path = TESTS / module
        if not path.is_file() or (test and test not in _test_names(path)):
            stale.append(key)
    assert stale == []


def test_the_table_uses_only_the_registered_markers():
    names = {m if isinstance(m, str) else m.name for markers in TIERS.values() for m in markers}
    assert names <= {"slow", "browser", "external", "timeout"}


@pytest.mark.parametrize("value, ci", [("true", True), ("1", True), ("TRUE", True), ("", False), ("false", False)])
def test_ci_is_read_from_the_environment(monkeypatch, value, ci):
    monkeypatch.setenv("CI", value)
    assert _in_ci() is ci


SKIPPED_MODULE = '''
import pytest

pytest.importorskip("no_such_module_anywhere")
'''
SKIPS_INSIDE = '''
import pytest


@pytest.mark.skip(reason="a marked skip")
def test_marked():
    pass


@pytest.fixture
def missing_part():
    pytest.skip("a part is missing")


def test_fixture_skip(missing_part):
    pass


def test_passes():
    pass
'''
ANOTHER_SKIP = '''
import pytest


@pytest.mark.skip(reason="not on this platform")
def test_elsewhere():
    pass
'''


def _run_pytest(folder: Path, ci: str, *options: str) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "CI": ci, "PYTHONPATH": str(TESTS)}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-ra", "--rootdir",
                           str(folder), "-c", str(folder / "pytest.ini"), *options, str(folder)],
                          capture_output=True, text=True, env=env, timeout=300)


def test_with_ci_true_a_skip_of_a_shipped_feature_fails_the_run(tmp_path):
    _check_ci_skips(tmp_path)


def test_with_ci_true_a_skip_of_a_shipped_feature_fails_the_run_under_xdist_too(tmp_path):
    _check_ci_skips(tmp_path, "-n", "2")


def _check_ci_skips(tmp_path, *options):
    """Ray's module skipped by importorskip, Label Studio's tests by a skip mark and by a fixture: quiet skips
    without CI, failures with it (the other tests still run); a skip of nothing shipped stays a skip."""
    (tmp_path / "conftest.py").write_text((TESTS / "conftest.py").read_text(encoding="utf-8"))  # the suite's hooks
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_ray_batch.py").write_text(SKIPPED_MODULE)
    (tmp_path / "test_labelstudio.py").write_text(SKIPS_INSIDE)
    (tmp_path / "test_elsewhere.py").write_text(ANOTHER_SKIP)
    quiet = _run_pytest(tmp_path, "", *options)
    assert quiet.returncode == 0, quiet.stdout[-3000:]
    assert "1 passed, 4 skipped" in quiet.stdout, quiet.stdout[-3000:]
    loud = _run_pytest(tmp_path, "true", *options)
    assert loud.returncode == 1, loud.stdout[-3000:]
    summary = loud.stdout.splitlines()[-1]
    assert "1 passed" in summary and "2 errors" in summary and "2 skipped" in summary, summary
    assert "FAILED test_ray_batch.py (Ray)" in loud.stdout and "no_such_module_anywhere" in loud.stdout
    for reason in ("a marked skip", "a part is missing"):
        assert f"Label Studio is shipped; the test skipped: {reason}" in loud.stdout, reason
    assert re.search(r"SKIPPED \[1\] \S*test_elsewhere.py:\d+: not on this platform", loud.stdout), loud.stdout[-2000:]
