"""`fingereval bench stability | severity`: what changes a score and what must not, measured on any model."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Optional

import typer

from fingereval.cli._common import print_json, reports_errors
from fingereval.cli.bench import RubricOpt, _answerer, _records, bench_app, load_rubric
from fingereval.cli.calibrate import Reason

Model = Annotated[str, typer.Option("--model", "-m", help="hub id or checkpoint folder")]


def _num(v: float | None) -> str:
    return "–" if v is None else f"{v:.4f}"


@bench_app.command("stability")
@reports_errors
def stability(data: Annotated[Path, typer.Option("--data", help="FingER-Instruct JSONL (videos and their questions)")],
              model: Model, videos: Annotated[int, typer.Option("--videos", min=2, help="videos to use")] = 8,
              size: int = 448, fps: float = 2.0, max_frames: int = 32, device: Optional[str] = None,
              reason: Reason = False, max_new_tokens: int = 64,
              work_dir: Annotated[Optional[Path], typer.Option(help="keep the re-encoded videos here")] = None,
              as_json: Annotated[bool, typer.Option("--json")] = False, rubric: RubricOpt = None):
    """The same videos twice, re-encoded (24/30 fps, half/double resolution, VP9, low quality), and with another
    video's prompt: the largest changes of score (overall and per dimension of the rubric) and the answers that
    flip."""
    from fingereval.measure.stability import stability_report

    used = load_rubric(rubric)
    records = _records(data, used)  # a bad file, or a dimension the rubric lacks, fails before the model loads
    answerer = _answerer(model, max_new_tokens, size, fps, max_frames, device)
    with tempfile.TemporaryDirectory(prefix="fingereval-stability-") as tmp:
        report = stability_report(answerer, records, work_dir or Path(tmp), max_videos=videos, reason=reason,
                                  rubric=used)
    if as_json:
        print_json(report)
        return
    _print_stability(report, model)


def _largest_dimension(row: dict) -> str:
    moved = {k: v for k, v in row["dimension_max_abs_diff"].items() if v is not None}
    if not moved:
        return "–"
    key = max(moved, key=moved.get)
    return f"{key} {moved[key]:.4f}"


def _print_stability(report: dict, model: str) -> None:
    from rich.console import Console
    from rich.table import Table

    from fingereval.measure.stability import MOVE_TOLERANCE

    t = Table("variant", "overall max |Δ|", "overall mean |Δ|", f"videos moved > {MOVE_TOLERANCE}",
              "dimension that moved most", "answer flips (to the file's answer)", "flips by dimension",
              title=f"stability of {model} on {report['videos']} videos (rubric {report['rubric']['name']})")
    t.add_row("same video again", _num(report["determinism_max_abs_diff"]) + " (p_yes)", "", "", "", "", "")
    for name, row in report["reencode"].items():
        t.add_row(name, _num(row["overall_max_abs_diff"]), _num(row["overall_mean_abs_diff"]),
                  f"{row['videos_moved']} of {row['videos_compared']}", _largest_dimension(row),
                  f"{row['answer_flips']} of {row['questions']} ({row['flips_to_file_answer']})",
                  ", ".join(f"{k} {n}" for k, n in row["flips_per_dimension"].items()) or "–")
    Console().print(t)
    swap = report["prompt_swap"]
    if swap["dimension"] is None:
        typer.echo(swap["note"])
    elif not swap["videos"]:
        typer.echo(f"prompt swap: no video has questions in {swap['dimension']}, so it is not measured")
    else:
        typer.echo(f"{swap['dimension']} with its own prompt {_num(swap['own_mean'])}, with another video's "
                   f"{_num(swap['swapped_mean'])}: drop {_num(swap['drop'])}")
        same = swap["matching"]
        typer.echo(f"  on the {same['videos']} of {swap['videos']} videos whose true answers match their own prompt: "
                   + (f"drop {_num(same['drop'])}" if same["videos"] else "not measured"))


@bench_app.command("severity")
@reports_errors
def severity(model: Model, out_dir: Annotated[Path, typer.Option("--out", help="probe videos, table and plot go here")],
             per_level: Annotated[int, typer.Option(min=1, help="videos per severity level and dimension (a trained "
                                                    "model's answers are near certain: with 4, one video moves a level "
                                                    "by 0.25; docs/stability.md)")] = 8,
             seed: int = 0, device: Optional[str] = None, reason: Reason = False, max_new_tokens: int = 64,
             png: Annotated[Optional[Path], typer.Option("--png", help="plot (default OUT/severity.png)")] = None,
             as_json: Annotated[bool, typer.Option("--json")] = False):
    """Probe videos whose defect grows level by level, one family per dimension: detection rate and
    dimension score against severity (the score should fall monotonically)."""
    import json

    from fingereval.data.instruct import load_instruct
    from fingereval.measure.severity_response import severity_png, severity_table
    from fingereval.probes.graded_defects import make_severity_probes

    qa, levels = make_severity_probes(out_dir, per_level=per_level, seed=seed)
    report = severity_table(_answerer(model, max_new_tokens, 112, 2.0, 32, device), load_instruct(qa), levels,
                            reason=reason, progress=not as_json)
    report["model"] = model
    png = png or out_dir / "severity.png"
    severity_png(report, png, f"severity: {Path(model).name}")
    (out_dir / "severity_report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    report["png"] = str(png)
    if as_json:
        print_json(report)
        return
    from rich.console import Console
    from rich.table import Table

    t = Table("dimension", "level", "magnitude", "videos", "dimension score", "detection rate",
              title=f"severity probes, {model}")
    for dim, rows in report["dimensions"].items():
        for r in rows:
            t.add_row(dim, str(r["level"]), f"{r['magnitude']:g} {r['unit']}", str(r["videos"]),
                      f"{r['dimension_score']:.3f}", f"{r['detection_rate']:.0%}")
    Console().print(t)
    for dim, s in report["summary"].items():
        typer.echo(f"{dim}: {'falls monotonically' if s['monotonic'] else 'NOT monotonic'}, drop {s['drop']:.3f}")
    typer.echo(f"plot: {png}")
