"""The install: a light core and pip extras (docs/install.md).

Fast: the extras table of fingereval.extras agrees with pyproject.toml; `--help`, `--version` and the light
paths (questions, the served answerer, export, report, the client) load no torch; with every extra's modules
unimportable, each command that needs one says so in one line with the pip command, and the others still run.
Slow: the wheel and sdist are built (resources inside, `twine check` passes), the wheel is installed without
extras into a fresh venv, and the light paths run there for real against the local stand-in servers.
"""
from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import tomllib
import zipfile
import tarfile
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import fingereval
from fingereval.extras import EXTRAS, INCLUDES, modules_of
from openai_server import FIXED_P_YES, ChatServer, FixedReply

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
LOCK = ROOT / "requirements" / "lock.txt"
# what the plain install must not bring or load: the extras' heavy parts
HEAVY = ("torch", "torchvision", "transformers", "accelerate", "trl", "peft", "datasets", "ray", "fastapi",
         "uvicorn", "matplotlib", "pyarrow")
PROMPT = "A red car drives past a sleeping dog on a quiet street"
QUESTIONS = {"prompt": "a red square", "questions": [
    {"id": "q0", "dimension": "text_alignment", "text": "Does a red square appear?", "good_answer": "yes"},
    {"id": "q1", "dimension": "visual_quality", "text": "Is there visible noise?", "good_answer": "no"},
]}


def _requirements(extra: str | None) -> set[str]:
    """The distribution names an extra (None: the plain install) requires, its `fingereval[...]` expanded."""
    names = set()
    for text in PYPROJECT["dependencies"] if extra is None else PYPROJECT["optional-dependencies"][extra]:
        req = Requirement(text)
        if canonicalize_name(req.name) == "fingereval":
            names |= set().union(*(_requirements(e) for e in req.extras))
        else:
            names.add(canonicalize_name(req.name))
    return names


def _distributions(module: str) -> set[str]:
    return {canonicalize_name(d) for d in packages_distributions().get(module, [])}


# ---- the table and the package metadata agree ------------------------------------------------------------


def test_every_module_of_an_extra_comes_from_a_requirement_of_that_extra():
    declared = PYPROJECT["optional-dependencies"]
    for extra in EXTRAS:
        for module in modules_of(extra):
            dists = _distributions(module)
            assert dists, f"{module} is not installed here: the test environment has every extra"
            assert dists & _requirements(extra), f"{module} ({dists}) is not required by the {extra} extra"
    for extra, inner in INCLUDES.items():
        assert {f"fingereval[{e}]" for e in inner} <= {r.replace(" ", "") for r in declared[extra]}


def test_the_plain_install_requires_nothing_heavy_and_all_covers_every_part():
    core = _requirements(None)
    assert not core & {canonicalize_name(m) for m in HEAVY}
    for extra in EXTRAS:
        for module in modules_of(extra):
            assert not _distributions(module) & core, f"{module} of the {extra} extra is in the plain install"
    parts = set(PYPROJECT["optional-dependencies"]) - {"all", "test", "docs"}
    assert parts == set(EXTRAS)
    assert set().union(*(_requirements(e) for e in parts)) <= _requirements("all")
    assert _requirements("all") | _requirements("docs") <= _requirements("test")
    assert {"pytest-xdist", "pytest-timeout"} <= _requirements("test")


def test_the_version_has_one_source():
    assert "version" not in PYPROJECT and "version" in PYPROJECT["dynamic"]
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert setuptools["dynamic"]["version"] == {"attr": "fingereval.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", fingereval.__version__)


def test_the_lock_pins_every_requirement_of_the_tested_set_exactly():
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", LOCK.read_text(encoding="utf-8"), re.M))
    pins = {canonicalize_name(k): v for k, v in pins.items()}
    assert "fingereval" not in pins and not re.search(r"^fingereval", LOCK.read_text(), re.M)  # constraints-safe
    assert _requirements("test") <= set(pins), _requirements("test") - set(pins)
    for extra in (None, *PYPROJECT["optional-dependencies"]):
        for text in PYPROJECT["dependencies"] if extra is None else PYPROJECT["optional-dependencies"][extra]:
            req = Requirement(text)
            if canonicalize_name(req.name) != "fingereval":  # each range holds its locked version
                assert req.specifier.contains(pins[canonicalize_name(req.name)], prereleases=True), text


# ---- no torch on the light paths (main environment, where torch is installed) ----------------------------


def _python(code: str, *args: str, env: dict | None = None, cwd: Path = TESTS, timeout: int = 300):
    """`code` in a fresh interpreter of this environment, with tests/ importable."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, env={**os.environ, "PYTHONPATH": str(TESTS), **(env or {})})


def test_help_and_version_of_every_command_load_no_heavy_module():
    done = _python(f"""
        import json, sys
        import typer.main
        from typer.testing import CliRunner
        from fingereval.cli import app

        def paths(command, prefix=()):
            yield prefix
            for name, sub in getattr(command, "commands", {{}}).items():
                yield from paths(sub, (*prefix, name))

        runner, codes = CliRunner(), {{}}
        for p in paths(typer.main.get_command(app)):
            codes[" ".join(p)] = runner.invoke(app, [*p, "--help"]).exit_code
        codes["--version"] = runner.invoke(app, ["--version"]).exit_code
        print(json.dumps({{"codes": codes, "heavy": [m for m in {HEAVY!r} if m in sys.modules]}}))
    """)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert len(report["codes"]) > 30 and set(report["codes"].values()) == {0}, report["codes"]
    assert report["heavy"] == []


def test_questions_served_answerer_export_report_and_client_load_no_heavy_module(red_video, tmp_path):
    (tmp_path / "q.json").write_text(json.dumps(QUESTIONS))
    with ChatServer(FixedReply()) as chat:
        done = _python(f"""
            import json, sys
            from typer.testing import CliRunner
            from fingereval.cli import app

            r, video, url = CliRunner(), sys.argv[1], sys.argv[2]
            runs = [["questions", "--prompt", {PROMPT!r}],
                    ["score", video, "--questions", "q.json", "--answerer", "openai", "--model", "served",
                     "--base-url", url, "--size", "56", "--json"]]
            manifest = json.dumps({{"video": video, "prompt": "a red square", "questions": {QUESTIONS['questions']!r}}})
            open("m.jsonl", "w").write(manifest + "\\n")
            runs += [["score", "--manifest", "m.jsonl", "--out", "r.jsonl", "--answerer", "openai", "--model", "served",
                      "--base-url", url, "--size", "56"],
                     ["export", "r.jsonl", "--to", "csv"], ["report", "r.jsonl", "--out", "r.html", "--frames", "2"]]
            codes = [r.invoke(app, args).exit_code for args in runs]
            from fingereval.client import ScoreClient
            ScoreClient("http://127.0.0.1:9").close()
            print(json.dumps({{"codes": codes, "heavy": [m for m in {HEAVY!r} if m in sys.modules]}}))
        """, str(red_video), chat.url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["codes"] == [0, 0, 0, 0, 0]
    assert report["heavy"] == []


# ---- a missing extra is one line (every extra's modules made unimportable in a fresh interpreter) --------


BLOCKED = sorted({m for extra in EXTRAS for m in modules_of(extra)})
# every extra's modules fail to import as absent packages do (ModuleNotFoundError naming them); sys.modules
# stays clean, since libraries look there for torch (array_api_compat does)
BLOCK = f"""
import importlib.abc, sys
class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {BLOCKED!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, Absent())
"""


def _without_extras(cases: list[list[str]]) -> list[dict]:
    """Each CLI invocation run with every extra's modules unimportable (BLOCK): its exit code and stderr."""
    done = _python(BLOCK + textwrap.dedent(f"""
        import json, sys
        from typer.testing import CliRunner
        from fingereval.cli import app

        out = []
        for args in json.loads(sys.argv[1]):
            r = CliRunner().invoke(app, args)
            out.append({{"code": r.exit_code, "stderr": r.stderr, "exception": repr(r.exception)}})
        print(json.dumps(out))
    """), json.dumps(cases), env={"HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_each_command_that_needs_a_missing_extra_says_so_in_one_line(red_video, tmp_path):
    (tmp_path / "r.jsonl").write_text("")
    data = tmp_path / "d.jsonl"
    data.write_text("")
    cases = {
        "score": ([["score", str(red_video), "--prompt", "a red square"]], ["local"]),
        "score --workers": ([["score", str(red_video), "--prompt", "x", "--answerer", "openai", "--workers", "2"]], ["ray"]),
        "questions": ([["questions", "--prompt", "x", "--generator", "local"]], ["local"]),
        "serve": ([["serve"]], ["serve", "local"]),
        "annotate serve": ([["annotate", "serve"]], ["annotate"]),
        "tiny-model": ([["tiny-model", str(tmp_path / "tiny")]], ["local"]),
        "demo": ([["demo", "--out-dir", str(tmp_path / "demo")]], ["train"]),
        "train sft": ([["train", "sft", "--data", str(data), "--model", "m", "--out", str(tmp_path / "o")]], ["train"]),
        "export": ([["export", str(tmp_path / "r.jsonl"), "--to", "parquet", "--out", str(tmp_path / "r.pq")]],
                   ["parquet"]),
        "bench severity": ([["bench", "severity", "--model", "m", "--out", str(tmp_path / "sev")]], ["local", "plots"]),
        "calibrate": ([["calibrate", "--data", str(data), "--model", "m", "--out", str(tmp_path / "c.json"),
                        "--png", str(tmp_path / "c.png")]], ["local", "plots"]),
    }
    results = _without_extras([args for args_list, _ in cases.values() for args in args_list])
    for (path, (_, extras)), got in zip(cases.items(), results):
        command = path.removesuffix(" --workers")
        names = " and ".join(extras) + (" extras" if len(extras) > 1 else " extra")
        want = f"error: fingereval {command} needs the {names}: pip install 'fingereval[{','.join(extras)}]'\n"
        assert (got["code"], got["stderr"]) == (2, want), (path, got)
    assert (tmp_path / "tiny").exists() is False and (tmp_path / "sev").exists() is False  # refused before any work


def test_commands_of_the_plain_install_still_run_without_any_extra(red_video, tmp_path):
    got = _without_extras([["questions", "--prompt", PROMPT], ["answerers"], ["doctor", "--json"]])
    assert [g["code"] for g in got[:2]] == [0, 0], got
    assert "Traceback" not in got[2]["stderr"] and got[2]["code"] in (0, 1)


def test_an_import_of_a_missing_extra_the_table_does_not_foresee_is_the_same_line(tmp_path):
    """The guard's second net: a command outside NEEDS that imports an absent extra's module."""
    done = _python(BLOCK + textwrap.dedent("""
        import typer
        from typer.testing import CliRunner
        from fingereval.cli._common import guard_extras

        app = typer.Typer()

        @app.command()
        def draw(n: int = 1):
            import matplotlib  # noqa: F401

        @app.command()
        def broken():
            import fingereval_no_such_module  # noqa: F401  (not an extra: a bug, left as it is)

        guard_extras(app)
        r = CliRunner().invoke(app, ["draw"])
        print(r.exit_code, repr(r.stderr))
        r = CliRunner().invoke(app, ["broken"])
        print(type(r.exception).__name__)
    """))
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.strip().splitlines()[-2:]
    assert first == "2 \"error: fingereval draw needs the plots extra: pip install 'fingereval[plots]'\\n\""
    assert second == "ModuleNotFoundError"


def test_the_python_api_names_the_missing_extra():
    done = _python(BLOCK + textwrap.dedent("""
        from fingereval.answer import get_answerer
        from fingereval.errors import ConfigError
        try:
            get_answerer("transformers", model="m")
        except ConfigError as e:
            print(type(e).__name__, e)
    """))
    assert done.stdout.strip() == ("MissingExtraError answerer 'transformers' needs the local extra: "
                                   "pip install 'fingereval[local]'"), done.stderr


# ---- slow: the built wheel, installed without extras in a fresh venv -------------------------------------


def _run(*args, timeout: int = 900, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, **kwargs)
    assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return done


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """The wheel and sdist built from a copy of the tree (the work tree is not written to)."""
    root = tmp_path_factory.mktemp("build")
    tree = root / "tree"
    tree.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, tree / name)
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    _run(sys.executable, "-m", "build", "--no-isolation", "--outdir", root / "dist", tree)
    return root / "dist"


@pytest.fixture(scope="module")
def light(dist, tmp_path_factory) -> Path:
    """A fresh venv holding the wheel without extras (the locked versions of its dependencies): its bin folder."""
    venv = tmp_path_factory.mktemp("light") / "venv"
    _run(sys.executable, "-m", "venv", venv)
    wheel = next(dist.glob("fingereval-*.whl"))
    _run(venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check", "-c", LOCK, wheel)
    return venv / "bin"


@pytest.mark.slow
def test_the_wheel_and_sdist_hold_the_resources_and_pass_twine_check(dist):
    version = fingereval.__version__
    wheel, sdist = dist / f"fingereval-{version}-py3-none-any.whl", dist / f"fingereval-{version}.tar.gz"
    resources = sorted(p.name for p in (ROOT / "src" / "fingereval" / "resources").iterdir() if p.is_file()
                       and p.name != "__init__.py" and p.suffix != ".pyc")
    assert resources
    in_wheel = zipfile.ZipFile(wheel).namelist()
    assert all(f"fingereval/resources/{r}" in in_wheel for r in resources), in_wheel
    with tarfile.open(sdist) as t:
        in_sdist = t.getnames()
    assert all(f"fingereval-{version}/src/fingereval/resources/{r}" in in_sdist for r in resources)
    checked = _run(sys.executable, "-m", "twine", "check", "--strict", *dist.iterdir())
    assert checked.stdout.count("PASSED") == 2, checked.stdout


@pytest.mark.slow
def test_the_plain_install_brings_no_model_stack(light):
    listed = json.loads(_run(light / "python", "-m", "pip", "list", "--format", "json").stdout)
    names = {canonicalize_name(p["name"]): p["version"] for p in listed}
    assert names["fingereval"] == fingereval.__version__
    assert not {canonicalize_name(m) for m in HEAVY} & set(names), sorted(names)
    assert _run(light / "fingereval", "--version").stdout.strip() == f"fingereval {fingereval.__version__}"


@pytest.mark.slow
def test_the_plain_install_writes_questions_scores_through_a_server_exports_and_reports(light, red_video, tmp_path):
    from fingereval.ask import get_generator

    fe = light / "fingereval"
    _run(fe, "questions", "--prompt", PROMPT, "--out", tmp_path / "gen.json")
    want = json.loads(get_generator("templates").generate(PROMPT).model_dump_json())  # the source tree's
    assert json.loads((tmp_path / "gen.json").read_text()) == want and want["questions"]

    (tmp_path / "q.json").write_text(json.dumps(QUESTIONS))
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps({"id": f"v{i}", "video": str(red_video), "prompt": "a red square",
                                            "questions": QUESTIONS["questions"]}) + "\n" for i in range(2)))
    with ChatServer(FixedReply()) as chat:
        served = ["--answerer", "openai", "--model", "served", "--base-url", chat.url, "--size", "56"]
        one = json.loads(_run(fe, "score", red_video, "--questions", tmp_path / "q.json", "--json", *served).stdout)
        _run(fe, "score", "--manifest", manifest, "--out", tmp_path / "r.jsonl", *served)
    good = {q["id"]: q["good_answer"] for q in QUESTIONS["questions"]}
    for q in one["questions"]:
        assert q["p_yes"] == pytest.approx(FIXED_P_YES, abs=1e-6)
        assert q["score"] == pytest.approx(FIXED_P_YES if good[q["id"]] == "yes" else 1 - FIXED_P_YES, abs=1e-6)
    rows = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["v0", "v1"] and all(r["overall"] == pytest.approx(one["overall"]) for r in rows)

    table = list(csv.DictReader(io.StringIO(_run(fe, "export", tmp_path / "r.jsonl", "--to", "csv").stdout)))
    assert [(t["id"], float(t["overall"])) for t in table] == [(r["id"], pytest.approx(r["overall"])) for r in rows]
    _run(fe, "report", tmp_path / "r.jsonl", "--out", tmp_path / "r.html", "--frames", "2")
    html = (tmp_path / "r.html").read_text()
    details = [json.loads(b) for b in re.findall(r'<script type="application/json" id="detail-\d+">(.*?)</script>',
                                                  html, re.S)]
    assert [len(d["frames"]) for d in details] == [2, 2]  # frames decoded with PyAV in the light install


@pytest.mark.slow
def test_the_plain_install_client_talks_to_the_service(light, red_video, tmp_path):
    from serving import served
    from fingereval.config import ScoringConfig
    from fingereval.serve import ServeSettings, create_app

    with ChatServer(FixedReply()) as chat:
        config = ScoringConfig(answerer="openai", model="served", size=56, max_frames=4,
                               answerer_options={"base_url": chat.url})
        with served(create_app(config.evaluator(), ServeSettings())) as url:
            done = _run(light / "python", "-c", textwrap.dedent(f"""
                import json, sys
                from fingereval.client import ScoreClient
                with ScoreClient(sys.argv[1]) as client:
                    result = client.score(sys.argv[2], "a red square", {QUESTIONS['questions']!r})
                print(json.dumps([q.p_yes for q in result.questions]))
            """), url, red_video)
    assert json.loads(done.stdout) == pytest.approx([FIXED_P_YES] * 2, abs=1e-6)


@pytest.mark.slow
def test_the_plain_install_says_score_needs_the_local_extra(light, red_video):
    done = subprocess.run([light / "fingereval", "score", red_video, "--prompt", "a red square"],
                          capture_output=True, text=True, timeout=300)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "error: fingereval score needs the local extra: pip install 'fingereval[local]'\n"
    api = subprocess.run([light / "python", "-c", "from fingereval import Evaluator; Evaluator()"],
                         capture_output=True, text=True, timeout=300)
    assert api.returncode == 1 and api.stderr.strip().splitlines()[-1] == (
        "fingereval.extras.MissingExtraError: answerer 'transformers' needs the local extra: "
        "pip install 'fingereval[local]'")
