"""`fingereval bench ...` and `fingereval fit-weights`.

The lead mounts these on the main app:

    from fingereval.cli.bench import bench_app, fit_weights
    app.add_typer(bench_app, name="bench")
    app.command("fit-weights")(fit_weights)

(`fit_weights_app` runs the same command on its own, for tests or a standalone entry point.)
Every command turns a FingerEvalError into one line on stderr and exit code 2; `--json` prints exactly
one JSON object on stdout.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from fingereval.data.instruct import load_instruct
from fingereval.cli._common import RUBRIC_HELP, print_json, reports_errors
from fingereval.errors import DataError
from fingereval.measure.leaderboard import leaderboard as build_leaderboard
from fingereval.measure.leaderboard import LeaderboardRow, format_cell, our_row, render_markdown
from fingereval.measure.model_bench import evaluate_levels, evaluate_qa
from fingereval.measure.pairs import Benchmark, evaluate_pairs, load_pairs, write_manifest
from fingereval.measure.pointwise import evaluate_pointwise, load_ratings
from fingereval.measure.results import load_results
from fingereval.measure.weight_fit import fit_weights_pointwise, fit_weights_preferences

bench_app = typer.Typer(
    help="Measure scores against human judgements: pairwise preference benchmarks (GenAI-Bench, MonetBench), "
         "pointwise ratings (VideoFeedback style), and the published leaderboard.",
    no_args_is_help=True,
)
fit_weights_app = typer.Typer(help="Fit dimension weights to human ratings or preferences.")

def render_table(rows: list[LeaderboardRow], benchmark: Benchmark | str) -> Table:
    """The leaderboard as a rich table, our rows in bold."""
    bench = Benchmark(benchmark)
    table = Table(title=f"{bench.value}: pairwise accuracy (%), tau with ties, diff without",
                  caption="derived = arithmetic from the paper's stated margins, not a published number")
    for column in ("model", "tau", "diff", "source"):
        table.add_column(column, justify="right" if column in ("tau", "diff") else "left",
                         overflow="fold")
    for row in rows:
        style = {"ours": "bold green", "derived": "italic yellow"}.get(row.kind)
        table.add_row(row.model, format_cell(row.tau, row.tau_ci), format_cell(row.diff, row.diff_ci), row.source, style=style)
    return table


def _ci(entry: dict[str, Any] | None, percent: bool = True) -> str:
    """'value [low, high]', in percent for accuracies, 3 decimals for correlations."""
    if not entry or entry.get("value") is None:
        return "-"
    if percent:
        return f"{100 * entry['value']:.1f} [{100 * entry['low']:.1f}, {100 * entry['high']:.1f}]"
    return f"{entry['value']:.3f} [{entry['low']:.3f}, {entry['high']:.3f}]"


def _joined_line(report: dict[str, Any], unit: str) -> str:
    line = f"{report['n_joined']} {unit} joined with {report['results']['file']}, {report['n_unjoined']} not joined"
    if report["unjoined_examples"]:
        example = report["unjoined_examples"][0]
        if isinstance(example, dict):  # a pair: name its videos without a result
            example = f"pair {example['id']}: no result for {', '.join(example['missing'])}"
        line += f" (for example {example})"
    join = report["join"]
    line += f"; {join['by_path']} videos joined by full path, {join['by_name']} by file name"
    if join["ambiguous_names"]:
        line += (f", {join['ambiguous_videos']} not joined because {join['ambiguous_names']} file names are "
                 f"ambiguous (for example {join['ambiguous_examples'][0]})")
    skipped = report["results"]["failed_skipped"] + report["results"]["malformed_skipped"]
    if skipped:
        line += f"; {report['results']['failed_skipped']} failed and {report['results']['malformed_skipped']} " \
                "malformed result lines skipped"
    return line


# ----------------------------------------------------------------------------------------------


ResamplesOpt = Annotated[int, typer.Option("--resamples", min=1, help="bootstrap resamples for the CIs")]
ConfidenceOpt = Annotated[float, typer.Option("--confidence", min=0.5, max=0.999, help="CI level")]
SeedOpt = Annotated[int, typer.Option("--seed", help="bootstrap seed")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object instead of a table")]
BenchmarkOpt = Annotated[Benchmark, typer.Option("--benchmark", help="the pairs file's format")]
RubricOpt = Annotated[str | None, typer.Option("--rubric", help=RUBRIC_HELP)]


def load_rubric(rubric: str | None):
    """The --rubric option's Rubric (None: the default), read before any model loads."""
    from fingereval.rubric import load_rubric as read

    return read(rubric) if rubric else None


@bench_app.command("pairs")
@reports_errors
def pairs(
    pairs_file: Annotated[Path, typer.Option("--pairs", help="the benchmark's pairs file (JSON list or JSONL)")],
    benchmark: BenchmarkOpt = Benchmark.genai_bench,
    scores: Annotated[Path | None, typer.Option("--scores", help="results.jsonl from `fingereval score`")] = None,
    videos: Annotated[Path | None, typer.Option("--videos", help="folder holding the benchmark's videos")] = None,
    write_manifest_to: Annotated[Path | None, typer.Option(
        "--write-manifest", help="with --videos: write the manifest for `fingereval score --manifest` and stop")] = None,
    as_json: JsonOpt = False,
    resamples: ResamplesOpt = 1000,
    confidence: ConfidenceOpt = 0.95,
    seed: SeedOpt = 0,
    rubric: RubricOpt = None,
) -> None:
    """Pairwise accuracy against human votes: tau (with ties, tie-calibrated) and diff (without ties),
    overall and per dimension, with bootstrap CIs that resample pairs (one human vote each; GenAI-Bench
    uses each video in one pair only). Or, with --videos and --write-manifest, the manifest
    of the benchmark's videos to score first."""
    loaded = load_pairs(pairs_file, benchmark)
    if write_manifest_to is not None or videos is not None:
        if write_manifest_to is None or videos is None:
            raise DataError("writing a manifest needs both --videos DIR and --write-manifest OUT")
        report = write_manifest(loaded, videos, write_manifest_to)
        if as_json:
            print_json(report)
        else:
            typer.echo(f"wrote {report['written']} of {report['videos']} videos to {report['manifest']}; "
                       f"{report['missing']} not found under {videos}"
                       + (f" (for example {report['missing_examples'][0]})" if report["missing"] else ""))
        return
    if scores is None:
        raise DataError("give --scores results.jsonl (or --videos and --write-manifest to prepare the scoring run)")
    report = evaluate_pairs(loaded, load_results(scores), n_resamples=resamples, confidence=confidence, seed=seed,
                            rubric=load_rubric(rubric))
    report = {"benchmark": benchmark.value, "pairs_file": str(pairs_file)} | report
    if as_json:
        print_json(report)
        return
    table = Table(title=f"{benchmark.value}: pairwise accuracy (%) with {confidence:.0%} bootstrap CI "
                        "(resampling pairs)")
    for column in ("score", "pairs", "tau (with ties)", "eps", "diff (without ties)"):
        table.add_column(column, justify="left" if column == "score" else "right")
    for target, m in report["metrics"].items():
        eps = f"{m['tau']['eps']:.4g}" if m["tau"] else "-"
        table.add_row(target, str(m["n_pairs"]), _ci(m["tau"]), eps, _ci(m["diff"]))
    console = Console()
    console.print(table)
    console.print(_joined_line(report, "pairs"))


@bench_app.command("pointwise")
@reports_errors
def pointwise(
    ratings: Annotated[Path, typer.Option("--ratings", help="human ratings JSONL: video, dimension scores, overall")],
    scores: Annotated[Path, typer.Option("--scores", help="results.jsonl from `fingereval score`")],
    as_json: JsonOpt = False,
    resamples: ResamplesOpt = 1000,
    confidence: ConfidenceOpt = 0.95,
    seed: SeedOpt = 0,
    rubric: RubricOpt = None,
) -> None:
    """SRCC / KRCC / PLCC of our scores against human ratings, per dimension, with bootstrap CIs."""
    used = load_rubric(rubric)
    report = evaluate_pointwise(load_ratings(ratings, used), load_results(scores), n_resamples=resamples,
                                confidence=confidence, seed=seed, rubric=used)
    report = {"ratings_file": str(ratings)} | report
    if as_json:
        print_json(report)
        return
    table = Table(title=f"correlation with human ratings, {confidence:.0%} bootstrap CI (resampling videos)")
    for column in ("score", "videos", "SRCC", "KRCC", "PLCC", "PLCC (logistic fit)"):
        table.add_column(column, justify="left" if column == "score" else "right")
    for target, m in report["metrics"].items():
        if "error" in m:
            table.add_row(target, str(m["n"]), m["error"], "", "", "")
            continue
        logistic = "-" if m["plcc_logistic"] is None else f"{m['plcc_logistic']:.3f}"
        table.add_row(target, str(m["n"]), *(_ci(m[k], percent=False) for k in ("srcc", "krcc", "plcc")), logistic)
    console = Console()
    console.print(table)
    console.print(_joined_line(report, "videos"))


@bench_app.command("leaderboard")
@reports_errors
def leaderboard(
    benchmark: BenchmarkOpt = Benchmark.genai_bench,
    scores: Annotated[Path | None, typer.Option("--scores", help="results.jsonl: insert our row")] = None,
    pairs_file: Annotated[Path | None, typer.Option("--pairs", help="the benchmark's pairs file (with --scores)")] = None,
    markdown: Annotated[bool, typer.Option("--markdown", help="print Markdown instead of a table")] = False,
    as_json: JsonOpt = False,
    resamples: ResamplesOpt = 1000,
    seed: SeedOpt = 0,
) -> None:
    """The published pairwise leaderboard (VisionReward paper, Table 2), with our row when --scores and
    --pairs are given."""
    ours = []
    if (scores is None) != (pairs_file is None):
        raise DataError("to insert our row give both --scores results.jsonl and --pairs FILE")
    if scores is not None and pairs_file is not None:
        report = evaluate_pairs(load_pairs(pairs_file, benchmark), load_results(scores),
                                n_resamples=resamples, seed=seed)
        ours.append(our_row(report))
    rows = build_leaderboard(benchmark, ours)
    if as_json:
        print_json({"benchmark": benchmark.value, "rows": [r.as_dict() for r in rows]})
    elif markdown:
        typer.echo(render_markdown(rows, benchmark), nl=False)
    else:
        Console().print(render_table(rows, benchmark))


@reports_errors
def fit_weights(
    ratings: Annotated[Path | None, typer.Option("--ratings", help="human ratings JSONL with `overall`")] = None,
    pairs: Annotated[Path | None, typer.Option("--pairs", help="a preference pairs file, in the --benchmark format")] = None,
    *,
    scores: Annotated[Path, typer.Option("--scores", help="results.jsonl from `fingereval score`")],
    out: Annotated[Path, typer.Option("--out", help="where to write the weights JSON")],
    benchmark: BenchmarkOpt = Benchmark.genai_bench,
    rubric: RubricOpt = None,
) -> None:
    """Fit dimension weights (non-negative, summing to 1) to human overall ratings (--ratings: non-negative
    least squares) or to preferences (--pairs: logistic regression on score differences, ties dropped).
    Writes the weights JSON that the scoring step reads (fingereval.score.weights.load_weights), a weight for
    each dimension of the rubric (default: the dimensions the scores hold), and the rubric's name and hash."""
    if (ratings is None) == (pairs is None):
        raise DataError("give exactly one of --ratings FILE or --pairs FILE")
    used = load_rubric(rubric) if rubric else None
    results = load_results(scores)
    if ratings is not None:
        fitted = fit_weights_pointwise(load_ratings(ratings), results, fitted_on=f"ratings {ratings}", rubric=used)
    else:
        fitted = fit_weights_preferences(load_pairs(pairs, benchmark), results,
                                         fitted_on=f"{benchmark.value} pairs {pairs}", rubric=used)
    fitted.save(out)
    print_json(fitted.as_dict() | {"out": str(out)})


fit_weights_app.command("fit-weights")(fit_weights)


# ---- benchmarks that run a model (fingereval.measure.model_bench) --------------------------

def _answerer(model: str, reason_tokens: int, size: int, fps: float, max_frames: int, device: str | None):
    from fingereval.answer import get_answerer
    from fingereval.video import VideoConfig

    return get_answerer("transformers", model=model, device=device, max_new_tokens=reason_tokens,
                        video_config=VideoConfig(fps=fps, max_frames=max_frames, size=size))


def _records(data: Path, rubric=None) -> list:
    """FingER-Instruct records to run a model on, read before the model loads (their dimensions the rubric's);
    none at all is an error."""
    records = load_instruct(data, rubric=rubric)
    if not records:
        raise DataError(f"instruct file {data} holds no records; give a FingER-Instruct JSONL file, one question a line")
    return records


Model = Annotated[str, typer.Option("--model", "-m", help="hub id or checkpoint folder")]
Size = Annotated[int, typer.Option(help="frame size (probe videos: 112)")]


@bench_app.command("qa")
@reports_errors
def qa_command(data: Annotated[Path, typer.Option("--data", help="FingER-Instruct JSONL with true answers")],
               model: Model, reason: Annotated[bool, typer.Option("--reason/--no-reason")] = False,
               size: Size = 448, fps: float = 2.0, max_frames: int = 32, max_new_tokens: int = 64,
               device: str | None = None, limit: Annotated[int, typer.Option(help="first N records (0: all)")] = 0,
               calibration: Annotated[Path | None, typer.Option(help="a calibration from `fingereval calibrate`: "
                                                                "ECE and Brier after it too")] = None,
               png: Annotated[Path | None, typer.Option("--png", help="reliability diagram PNG")] = None,
               as_json: Annotated[bool, typer.Option("--json")] = False, rubric: RubricOpt = None):
    """Yes/no accuracy of a model on QA data, per dimension and overall; ECE and Brier (before/after calibration)."""
    from fingereval.measure.calibration_check import before_after, reliability_png
    from fingereval.score.calibration import load_calibration

    fitted = load_calibration(calibration) if calibration else None  # a bad file fails before the model loads
    used = load_rubric(rubric)
    records = _records(data, used)
    records = records[:limit] if limit else records
    report = evaluate_qa(_answerer(model, max_new_tokens, size, fps, max_frames, device), records, reason=reason,
                         progress=not as_json, keep_rows=True, rubric=used)
    rows = report.pop("rows")
    report["calibration"] = before_after(rows, fitted)
    if png is not None:
        curves = {"before": report["calibration"]["reliability_before"]}
        if fitted is not None:
            curves["after"] = report["calibration"]["reliability_after"]
        reliability_png(curves, png, f"reliability of {Path(model).name}")
    report["model"] = model
    if as_json:
        print_json(report)
        return
    from rich.console import Console
    from rich.table import Table

    t = Table("dimension", "accuracy", "n", title=f"yes/no accuracy of {model} "
              f"(95 % CI resampling its {report['bootstrap']['videos']} videos)")
    for k, v in report["per_dimension"].items():
        t.add_row(k, f"{v['accuracy']:.1%}", str(v["n"]))
    lo, hi = report["ci95"] or (float("nan"), float("nan"))
    t.add_row("[bold]overall", f"[bold]{report['accuracy']:.1%}[/] [{lo:.1%}, {hi:.1%}]", str(report["n"]))
    Console().print(t)
    for when in ("before", "after"):
        if when in report["calibration"]:
            c = report["calibration"][when]
            typer.echo(f"{when} calibration: ECE {c['ece']:.3f}, Brier {c['brier']:.3f} ({c['bins']} bins)")


@bench_app.command("levels")
@reports_errors
def levels_command(model: Model,
                   probes: Annotated[Path | None, typer.Option(help="a probe folder (its qa.jsonl and ratings.jsonl)")] = None,
                   data: Annotated[Path | None, typer.Option(help="QA data JSONL (questions per video)")] = None,
                   ratings: Annotated[Path | None, typer.Option(help="per-video ratings JSONL with `overall`")] = None,
                   reason: Annotated[bool, typer.Option("--reason/--no-reason")] = False,
                   size: Size = 448, fps: float = 2.0, max_frames: int = 32, device: str | None = None,
                   resamples: int = 1000, as_json: Annotated[bool, typer.Option("--json")] = False,
                   rubric: RubricOpt = None):
    """Entity-level questions vs one overall-level question: SRCC of each against per-video ratings."""
    if probes is not None:
        data, ratings = data or probes / "qa.jsonl", ratings or probes / "ratings.jsonl"
    if data is None or ratings is None:
        raise typer.BadParameter("give --probes DIR, or --data and --ratings")
    used = load_rubric(rubric)
    records = _records(data, used)  # a bad data file fails before the model loads
    report = evaluate_levels(_answerer(model, 64, size, fps, max_frames, device), records, ratings,
                             reason=reason, n_resamples=resamples, progress=not as_json, rubric=used)
    if as_json:
        print_json(report)
        return
    for level in ("entity_level", "overall_level"):
        r = report[level]
        ci = r["ci95"] or [float("nan")] * 2
        typer.echo(f"{level:14s} SRCC {r['srcc']:.3f}  95% CI [{ci[0]:.3f}, {ci[1]:.3f}]  (n={report['n_videos']})")
    for dim, r in report["entity_level_per_dimension"].items():
        ci = r["ci95"] or [float("nan")] * 2
        typer.echo(f"  {dim:22s} SRCC {r['srcc']:.3f}  95% CI [{ci[0]:.3f}, {ci[1]:.3f}]  (n={r['n']}, against its own rating)")
