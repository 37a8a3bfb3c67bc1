"""`fingereval report` on results the tiny model really scored, checked in the file and in headless chromium."""
from __future__ import annotations

import base64
import io
import json
import random
import re
from pathlib import Path

import pytest
from conftest import time_limit, write_video
from typer.testing import CliRunner

from fingereval.batch import run_manifest
from fingereval.cli import app
from fingereval.evaluator import Evaluator
from fingereval.report import ReportVideo, build_report, frame_strip
from fingereval.schema import VideoResult
from fingereval.video import VideoConfig

runner = CliRunner()
PROMPTS = ["A red square slides to the right", "A blue square rests on a grey floor", "A green square moves fast"]
COLOURS = [(220, 30, 30), (30, 30, 220), (30, 200, 30)]
ALL_PROMPTS = PROMPTS + ["A red square", "A broken file"]  # as the results file holds them
FRAMES = 3


@pytest.fixture(scope="module")
def scored(tiny_model_dir, tmp_path_factory) -> Path:
    """A results file of three videos scored by the tiny model, a fourth whose video is gone since, a failed one."""
    root = tmp_path_factory.mktemp("report")
    items = []
    for i, (prompt, colour) in enumerate(zip(PROMPTS + ["A red square"], COLOURS + [(200, 200, 30)])):
        write_video(root / f"v{i}.mp4", frames=8, size=56 + 28 * (i % 2), colour=colour, moving=i != 1)
        items.append({"id": f"video-{i}", "video": f"v{i}.mp4", "prompt": prompt})
    (root / "broken.mp4").write_text("not a video")  # the batch records its failure; the report shows it
    items.append({"id": "broken", "video": "broken.mp4", "prompt": "A broken file"})
    (root / "manifest.jsonl").write_text("".join(json.dumps(x) + "\n" for x in items))
    evaluator = Evaluator(tiny_model_dir, video_config=VideoConfig(size=56, max_frames=4))
    with time_limit(120, "scoring four tiny videos"):
        run_manifest(evaluator, root / "manifest.jsonl", root / "results.jsonl", on_event=lambda m: None,
                     progress=False)
    (root / "v3.mp4").unlink()  # moved away after scoring: the report keeps its row, with a note
    return root / "results.jsonl"


@pytest.fixture(scope="module")
def made(scored) -> tuple[Path, str, str]:
    """(report path, its text, the command's stderr), with two bad lines in a second results file."""
    extra = scored.parent / "more.jsonl"
    extra.write_text('{"id": "torn", "video": "x.mp4"\n' + json.dumps({"id": "no-prompt", "video": "v0.mp4"}) + "\n")
    out = scored.parent / "report.html"
    r = runner.invoke(app, ["report", str(scored), str(extra), "--out", str(out), "--frames", str(FRAMES)])
    assert r.exit_code == 0, r.output
    return out, out.read_text(encoding="utf-8"), r.stderr


def _results(path: Path) -> dict[str, VideoResult]:
    return {r.id: r for r in map(VideoResult.model_validate_json, path.read_text().splitlines())}


def _details(text: str) -> dict[int, dict]:
    found = re.findall(r'<script type="application/json" id="detail-(\d+)">(.*?)</script>', text, re.S)
    return {int(i): json.loads(body) for i, body in found}


def _summary(text: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="report-data">(.*?)</script>', text, re.S)[1])


def test_the_file_needs_no_network_and_embeds_its_frames(made):
    _, text, _ = made
    assert re.search(r"https?:", text, re.I) is None  # no external URL of any kind
    assert re.search(r"""(src|href)\s*=\s*["'](?!data:)|url\(|@import|<link""", text) is None
    uris = re.findall(r"data:image/jpeg;base64,([A-Za-z0-9+/=]+)", text)
    assert len(uris) == 3 * FRAMES  # three videos on disk, the fourth has a note instead
    from PIL import Image

    image = Image.open(io.BytesIO(base64.b64decode(uris[0])))
    assert image.format == "JPEG" and image.width == 160


def test_questions_are_sorted_by_points_lost_with_their_answers(made, scored):
    _, text, _ = made
    results, details, rows = _results(scored), _details(text), _summary(text)["videos"]
    assert [r["id"] for r in rows] == [f"video-{i}" for i in range(4)] + ["broken"]
    for row in rows[:4]:
        questions = details[row["i"]]["questions"]
        real = results[row["id"]].questions
        assert len(questions) == len(real) > 0
        assert [q["score"] for q in questions] == sorted(q.score for q in real)  # worst first
        by_text = {q.question: q for q in real}
        for q in questions:
            assert (q["answer"], q["p_yes"]) == (by_text[q["question"]].answer, by_text[q["question"]].p_yes)
        assert row["overall"] == results[row["id"]].overall


def test_a_missing_video_keeps_its_row_with_a_note_and_bad_lines_are_warned(made):
    _, text, stderr = made
    gone = _details(text)[3]
    assert gone["frames"] == [] and "v3.mp4" in gone["note"] and "not found" in gone["note"]
    assert "v3.mp4" in stderr and "--videos-root" in stderr
    assert re.search(r"more\.jsonl line 1: .*left out", stderr)
    assert re.search(r"more\.jsonl line 2: .*prompt.*left out", stderr)
    assert "Traceback" not in stderr


def test_a_failed_item_shows_its_error(made):
    _, text, _ = made
    row = _summary(text)["videos"][4]
    assert row["status"] == "failed (VideoError)" and row["overall"] is None
    assert any(f.startswith("failed: VideoError") for f in _details(text)[4]["flags"])


def test_videos_root_finds_moved_videos(scored, tmp_path):
    moved = tmp_path / "moved"
    moved.mkdir()
    for i in range(3):
        (moved / f"v{i}.mp4").write_bytes((scored.parent / f"v{i}.mp4").read_bytes())
    results = tmp_path / "abs.jsonl"  # absolute paths that no longer exist, as a run on another machine writes
    results.write_text("".join(r.model_copy(update={"video": f"/elsewhere/{Path(r.video).name}"}).to_json() + "\n"
                               for r in _results(scored).values()))
    out = tmp_path / "r.html"
    r = runner.invoke(app, ["report", str(results), "--out", str(out), "--videos-root", str(moved), "--frames", "2"])
    assert r.exit_code == 0, r.output
    assert [bool(d["frames"]) for _, d in sorted(_details(out.read_text()).items())] == [True] * 3 + [False] * 2


def test_missing_or_empty_results_give_one_clear_line(tmp_path):
    r = runner.invoke(app, ["report", str(tmp_path / "nope.jsonl"), "--out", str(tmp_path / "r.html")])
    assert r.exit_code == 2 and "nope.jsonl" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    (tmp_path / "empty.jsonl").write_text("")
    r = runner.invoke(app, ["report", str(tmp_path / "empty.jsonl"), "--out", str(tmp_path / "r.html")])
    assert r.exit_code == 2 and "holds no results" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "r.html").exists()


def _column_values(page, key: str) -> list[str]:
    index = page.eval_on_selector_all("#videos th", f"ths => ths.findIndex(t => t.dataset.key === {key!r})")
    return page.eval_on_selector_all("#videos tr.video", f"rows => rows.map(r => r.cells[{index}].textContent)")


def test_in_chromium_the_table_sorts_and_a_row_opens_its_frames_and_questions(made, page):
    out, text, _ = made
    page.goto(out.as_uri())
    page.wait_for_selector("#videos tr.video")
    assert page.locator("#videos tr.video").count() == 5
    assert _column_values(page, "prompt") == ALL_PROMPTS  # file order until a header is clicked
    page.click("#videos th[data-key=prompt]")
    assert _column_values(page, "prompt") == sorted(ALL_PROMPTS)
    assert page.get_attribute("#videos th[data-key=prompt]", "aria-sort") == "ascending"
    page.click("#videos th[data-key=prompt]")
    assert _column_values(page, "prompt") == sorted(ALL_PROMPTS, reverse=True)
    page.click("#videos th[data-key=overall]")  # numbers sort as numbers
    overall = _column_values(page, "overall")
    assert [float(v) for v in overall[:4]] == sorted(float(v) for v in overall[:4]) and overall[4] == "\u2013"
    assert "failed" in page.locator("#videos tr.video[data-i='4'] td.failed").text_content()

    assert page.locator("tr.detail").count() == 0  # nothing drawn until a row opens
    page.click("#videos tr.video[data-i='0']")
    page.wait_for_selector("tr.detail .strip img")
    page.wait_for_function("[...document.querySelectorAll('tr.detail img')].every(i => i.complete)")
    images = page.eval_on_selector_all("tr.detail img", "is => is.map(i => [i.src.slice(0, 23), i.naturalWidth])")
    assert images == [["data:image/jpeg;base64,", 160]] * FRAMES
    captions = page.locator("tr.detail figcaption").all_text_contents()
    assert len(captions) == FRAMES and all(re.fullmatch(r"0:\d\d\.\d\d", c) for c in captions)
    shown = page.locator("tr.detail table.questions tbody tr")
    assert shown.count() == len(_details(text)[0]["questions"])
    lost = [float(x) for x in page.locator("tr.detail table.questions td.lost").all_text_contents()]
    assert lost == sorted(lost, reverse=True)
    page.click("#videos tr.video[data-i='3']")  # the missing video: its note in place of frames
    assert "not found" in page.locator("tr.detail .frames-note").text_content()


HOSTILE = 'A cat </script><img src="x"> & "quotes"'  # text, never markup


def _thousand(result: VideoResult, frames) -> str:
    """1,000 videos built from one real result: ids, prompts and scores varied, its real frames reused."""
    rng = random.Random(0)
    videos = []
    for i in range(1000):
        questions = [q.model_copy(update={"score": rng.random()}) for q in result.questions]
        dims = {k: rng.random() for k in result.dimensions}
        prompt = HOSTILE if i == 0 else f"{result.prompt} #{i}"
        r = result.model_copy(update={"id": f"video-{i:04d}", "prompt": prompt,
                                      "overall": sum(dims.values()) / len(dims), "dimensions": dims,
                                      "questions": questions})
        videos.append(ReportVideo(r, frames=frames))
    return build_report(videos, title="1,000 videos")


def test_in_chromium_a_thousand_video_report_opens_with_every_row(scored, page, tmp_path):
    real = _results(scored)["video-0"]
    out = tmp_path / "thousand.html"
    out.write_text(_thousand(real, frame_strip(scored.parent / "v0.mp4", 2, 96)), encoding="utf-8")
    page.goto(out.as_uri())
    page.wait_for_function("document.querySelectorAll('#videos tr.video').length === 1000")
    ids = page.locator("#videos tr.video td.name").all_text_contents()
    assert ids == [f"video-{i:04d}" for i in range(1000)]
    assert page.locator("#videos tr.video[data-i='0'] td.prompt").text_content() == HOSTILE
    assert page.locator(".hist").count() == 6  # overall and the five dimensions
    page.click("#videos tr.video[data-i='999']")
    page.wait_for_function("(() => { const i = document.querySelectorAll('tr.detail img');"
                           " return i.length === 2 && [...i].every(x => x.complete && x.naturalWidth === 96); })()")
    assert page.locator("tr.detail table.questions tbody tr").count() == len(real.questions)


def test_the_report_opens_videos_only_through_fingereval_video():
    """Every check of what a video may be lives in fingereval.video (docs/report.md): the report imports no PyAV."""
    import ast

    package = Path(__file__).resolve().parents[1] / "src" / "fingereval" / "report"
    found = []
    for path in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([node.module or ""] if isinstance(node, ast.ImportFrom) else
                     [a.name for a in node.names] if isinstance(node, ast.Import) else [])
            found += [f"{path.name}:{node.lineno} {n}" for n in names if n == "av" or n.startswith("av.")]
    assert found == []


def test_a_calibration_report_joins_the_page_with_its_numbers(scored, tmp_path):
    measured = {"before": {"ece": 0.2346, "brier": 0.25, "n": 40, "videos": 8, "ece_ci95": None},
                "after": {"ece": 0.0512, "brier": 0.2, "n": 40, "videos": 8},
                "reliability_before": [{"p_mean": 0.3, "frac_yes": 0.5, "count": 20}, {"p_mean": 0.8, "frac_yes": 0.6}],
                "reliability_after": [{"p_mean": 0.45, "frac_yes": 0.5}], "temperature": 1.7}
    report = tmp_path / "qa.json"
    report.write_text(json.dumps({"accuracy": 0.7, "calibration": measured}))  # as `bench qa --json` prints it
    out = tmp_path / "r.html"
    r = runner.invoke(app, ["report", str(scored), "--out", str(out), "--frames", "0", "--calibration-report", str(report)])
    assert r.exit_code == 0, r.output
    section = re.search(r'<section id="reliability">(.*?)</section>', out.read_text(encoding="utf-8"), re.S)[1]
    assert "before: ECE 0.235, Brier 0.250 (40 questions, 8 videos)" in section
    assert "after: ECE 0.051, Brier 0.200 (40 questions, 8 videos)" in section
    assert re.search(r'src="data:image/png;base64,[A-Za-z0-9+/=]{100,}"', section)


def test_a_playlist_in_the_results_is_not_opened_and_gets_a_note(scored, tmp_path):
    """A "video" that is an HLS playlist naming another file on the host: the report's frames go through the
    decoder's gate (fingereval.video), which refuses it, so no frame of the file it names reaches the page."""
    target = (scored.parent / "v0.mp4").resolve()
    for name in ("clip.m3u8", "clip.mp4"):  # the name decides nothing
        playlist = tmp_path / name
        playlist.write_text(f"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:1.0,\n{target}\n"
                            "#EXT-X-ENDLIST\n")
        results = tmp_path / "results.jsonl"
        first = next(iter(_results(scored).values()))
        results.write_text(first.model_copy(update={"video": str(playlist)}).to_json() + "\n")
        out = tmp_path / "r.html"
        r = runner.invoke(app, ["report", str(results), "--out", str(out), "--frames", "2"])
        assert r.exit_code == 0, r.output
        detail = _details(out.read_text(encoding="utf-8"))[0]
        assert detail["frames"] == [] and "HLS playlist" in detail["note"], detail["note"]
        assert "data:image/jpeg" not in out.read_text(encoding="utf-8")
