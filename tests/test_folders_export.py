"""A folder of videos with a prompts file (or prompt-named files) scored as a batch that resumes, and results
exported as CSV, Parquet and a Markdown table of means, grouped by a model or a prompts-file column."""
from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from conftest import write_video
from fingereval.cli import app
from fingereval.folders import folder_manifest, prompt_from_name

runner = CliRunner()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("folder")
    videos = root / "videos"
    write_video(videos / "a.mp4", frames=8, size=56)
    write_video(videos / "sub" / "b.mp4", frames=8, size=56, colour=(30, 30, 220))
    write_video(videos / "c.mp4", frames=8, size=56, moving=False)
    (videos / "notes.txt").write_text("not a video")
    return root


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_a_folder_with_a_csv_of_prompts_is_scored_and_resumes(folder, tiny_model_dir, tmp_path):
    prompts = tmp_path / "prompts.csv"
    prompts.write_text("video,prompt,generator\na.mp4,a red square slides,gen-1\nsub/b.mp4,a blue square slides,gen-2\n"
                       "missing.mp4,a ghost,gen-1\n", encoding="utf-8")
    out = tmp_path / "results.jsonl"
    args = ["score", str(folder / "videos"), "--prompts", str(prompts), "--model", str(tiny_model_dir),
            "--size", "56", "--out", str(out)]
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "no video 'missing.mp4'" in r.output and "1 video(s)" in r.output and "c.mp4" in r.output
    results = _rows(out)
    assert sorted(row["id"] for row in results) == ["a.mp4", "sub/b.mp4"]
    assert {row["prompt"] for row in results} == {"a red square slides", "a blue square slides"}
    manifest = _rows(tmp_path / "results.manifest.jsonl")
    assert [m["id"] for m in manifest] == ["a.mp4", "sub/b.mp4"] and manifest[0]["generator"] == "gen-1"
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "already in the results 2" in again.output
    assert len(_rows(out)) == 2

    table = runner.invoke(app, ["export", str(out), "--to", "md", "--group-by", "generator"])
    assert table.exit_code == 0, table.output
    lines = [line for line in table.output.splitlines() if line.startswith("|")]
    assert lines[0].startswith("| generator | videos | failed | overall") and len(lines) == 4
    assert {line.split("|")[1].strip() for line in lines[2:]} == {"gen-1", "gen-2"}


def test_a_jsonl_prompts_file_and_prompts_from_names(folder, tiny_model_dir, tmp_path):
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(json.dumps({"video": "c.mp4", "prompt": "a still red square"}) + "\n{broken\n")
    items = folder_manifest(folder / "videos", prompts, on_warning=(seen := []).append)
    assert [i["id"] for i in items] == ["c.mp4"] and any("line 2" in w for w in seen)

    named = tmp_path / "vbench"
    write_video(named / "A red square slides to the right-0.mp4", frames=8, size=56)
    write_video(named / "a_blue_square-3.mp4", frames=8, size=56)
    out = tmp_path / "named.jsonl"
    r = runner.invoke(app, ["score", str(named), "--prompts-from-names", "--model", str(tiny_model_dir), "--size", "56",
                            "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert sorted(row["prompt"] for row in _rows(out)) == ["A red square slides to the right", "a blue square"]
    assert prompt_from_name("x/A cat-plays piano-12.webm") == "A cat-plays piano"


def test_a_folder_needs_a_prompt_source_and_an_out_file(folder, tiny_model_dir, tmp_path):
    r = runner.invoke(app, ["score", str(folder / "videos"), "--model", str(tiny_model_dir), "--out", str(tmp_path / "r")])
    assert r.exit_code == 2 and "--prompts FILE" in r.output and "--prompts-from-names" in r.output
    r = runner.invoke(app, ["score", str(folder / "videos"), "--prompts-from-names", "--model", str(tiny_model_dir)])
    assert r.exit_code == 2 and "needs --out" in r.output
    bad = tmp_path / "bad.csv"
    bad.write_text("file,text\na.mp4,x\n")
    r = runner.invoke(app, ["score", str(folder / "videos"), "--prompts", str(bad), "--model", str(tiny_model_dir),
                            "--out", str(tmp_path / "r.jsonl")])
    assert r.exit_code == 2 and "no column prompt, video" in r.output


@pytest.fixture(scope="module")
def two_results(folder, tiny_model_dir, tmp_path_factory):
    """The same folder scored twice (direct and with a failing video), as two results files."""
    root = tmp_path_factory.mktemp("export")
    manifest = root / "m.jsonl"
    (root / "broken.mp4").write_bytes(b"\x00" * 64)
    lines = [{"video": str(folder / "videos" / "a.mp4"), "prompt": "a red square slides"},
             {"video": str(folder / "videos" / "c.mp4"), "prompt": "a red square stands still"},
             {"video": str(root / "broken.mp4"), "prompt": "broken"}]
    manifest.write_text("".join(json.dumps(x) + "\n" for x in lines))
    out = root / "a.jsonl"
    runner.invoke(app, ["score", "--manifest", str(manifest), "--model", str(tiny_model_dir), "--size", "56",
                        "--out", str(out)])
    return out


def test_export_csv_has_a_row_per_video_and_per_question(two_results, tmp_path):
    r = runner.invoke(app, ["export", str(two_results), "--to", "csv"])
    assert r.exit_code == 0, r.output
    table = list(csv.DictReader(io.StringIO(r.stdout)))
    assert len(table) == 3
    results = {json.loads(line)["video"]: json.loads(line) for line in two_results.read_text().splitlines()}
    for row in table:
        result = results[row["video"]]
        if "error" in result:
            assert row["overall"] == "" and row["error"].startswith("VideoError")
            continue
        assert float(row["overall"]) == pytest.approx(result["overall"])
        lost = sum(q["score"] < 0.5 for q in result["questions"])
        assert int(row["lost"]) == lost and int(row["questions"]) == len(result["questions"])
        assert sum(int(row[f"lost_{d}"]) for d in result["dimensions"]) == lost
    r = runner.invoke(app, ["export", str(two_results), "--to", "csv", "--questions", "--out", str(tmp_path / "q.csv")])
    assert r.exit_code == 0
    per_question = list(csv.DictReader((tmp_path / "q.csv").open()))
    assert len(per_question) == sum(len(x.get("questions", [])) for x in results.values())
    assert {"question", "answer", "p_yes", "score", "reason", "dimension", "entity"} <= set(per_question[0])


def test_export_parquet_reads_back_in_pyarrow(two_results, tmp_path):
    import pyarrow.parquet as pq

    r = runner.invoke(app, ["export", str(two_results), "--to", "parquet"])
    assert r.exit_code == 2 and "--out" in r.output
    out = tmp_path / "v.parquet"
    assert runner.invoke(app, ["export", str(two_results), "--to", "parquet", "--out", str(out)]).exit_code == 0
    table = pq.read_table(out).to_pylist()
    assert len(table) == 3 and sum(row["error"] is not None for row in table) == 1
    assert all(isinstance(row["overall"], float) for row in table if row["error"] is None)


def test_export_md_means_and_bad_requests(two_results, tmp_path):
    r = runner.invoke(app, ["export", str(two_results), "--to", "md"])
    assert r.exit_code == 0
    row = [line for line in r.stdout.splitlines() if line.startswith("|")][2].split("|")
    results = [json.loads(line) for line in two_results.read_text().splitlines()]
    scored = [x["overall"] for x in results if "error" not in x]
    assert row[2].strip() == "2" and row[3].strip() == "1"
    assert float(row[4].split("±")[0]) == pytest.approx(sum(scored) / len(scored), abs=5e-4)
    r = runner.invoke(app, ["export", str(two_results), "--to", "md", "--group-by", "colour"])
    assert r.exit_code == 2 and "no such field" in r.output
    r = runner.invoke(app, ["export", str(two_results), "--to", "xlsx"])
    assert r.exit_code == 2 and "csv, parquet, md" in r.output
    (tmp_path / "empty.jsonl").write_text("")
    r = runner.invoke(app, ["export", str(tmp_path / "empty.jsonl"), "--to", "csv"])
    assert r.exit_code == 2 and "holds no result" in r.output


def test_a_group_name_with_a_pipe_or_a_line_break_stays_one_cell():
    from fingereval.export import means_markdown

    table = [{"model": "a|b\nc", "overall": 0.5, "lost": 0, "questions": 2, "error": None},
             {"model": "plain", "overall": 0.25, "lost": 1, "questions": 2, "error": None}]
    lines = means_markdown(table).splitlines()
    assert len(lines) == 4 and lines[2].startswith("| a\\|b<br>c | 1 | 0 | 0.500 |")
    assert all(len(line.replace("\\|", "").split("|")) == len(lines[0].split("|")) for line in lines)
