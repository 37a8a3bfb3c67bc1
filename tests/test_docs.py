"""The documentation: the README's links resolve, and the MkDocs site builds in strict mode (a broken link,
a page missing from the nav, or an API reference to a name that moved fails the build)."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_link_in_the_readme_resolves():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"\]\(([^)#]+)\)", readme)
    local = [link for link in links if not link.startswith(("http://", "https://"))]
    assert local, "the README links its docs pages"
    assert [link for link in local if not (ROOT / link).exists()] == []


def test_the_readme_stays_short_and_keeps_what_a_user_needs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", readme, flags=re.M)
    for needed in ("Install", "Quick start", "How a score is computed", "Output format", "Scale",
                   "Building your own evaluator", "Architecture"):
        assert any(h.startswith(needed) for h in headings), needed
    assert len(readme.splitlines()) < 160


def test_the_documentation_site_builds_strictly(tmp_path):
    mkdocs = Path(sys.executable).with_name("mkdocs")
    done = subprocess.run([str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    api = (tmp_path / "site" / "reference" / "api" / "index.html").read_text(encoding="utf-8")
    assert "ScoringConfig" in api and "lost_points" in api  # docstrings were read, not just headings


def test_the_readme_reward_function_is_the_one_the_serve_tests_run():
    def reward_block(text: str) -> str:
        return next(b for b in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "def finger_reward" in b)

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert reward_block(readme) == reward_block((ROOT / "docs" / "serve.md").read_text(encoding="utf-8"))
