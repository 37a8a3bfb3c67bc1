"""`fingereval calibrate`: a temperature and bias for the answer slot, fitted on human answers."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from fingereval.cli._common import err, print_json, reports_errors
from fingereval.cli.bench import RubricOpt, _answerer, _records, load_rubric


Reason = Annotated[bool, typer.Option("--reason/--no-reason", help="write reasons before the answer (as the "
                                      "model will be used)")]


def _line(name: str, r: dict) -> str:
    ci = lambda v: "" if v is None else f" [{v[0]:.3f}, {v[1]:.3f}]"  # noqa: E731
    return f"{name:7s} ECE {r['ece']:.3f}{ci(r['ece_ci95'])}  Brier {r['brier']:.3f}{ci(r['brier_ci95'])}"


@reports_errors
def calibrate(data: Annotated[Path, typer.Option("--data", help="FingER-Instruct JSONL with human answers")],
              model: Annotated[str, typer.Option("--model", "-m", help="hub id or checkpoint folder")],
              out_path: Annotated[Path, typer.Option("--out", "-o", help="calibration JSON to write")],
              held_out: Annotated[float, typer.Option(min=0.05, max=0.9, help="share of videos kept out of the fit, "
                                                      "to check it on")] = 0.3,
              seed: int = 0, size: int = 448, fps: float = 2.0, max_frames: int = 32, device: Optional[str] = None,
              reason: Reason = False, max_new_tokens: int = 64,
              png: Annotated[Optional[Path], typer.Option("--png", help="reliability diagram (before/after)")] = None,
              as_json: Annotated[bool, typer.Option("--json")] = False, rubric: RubricOpt = None):
    """Fit a temperature and bias on the slot's log-odds against human answers; check them on unseen videos.

    Use it with `fingereval score --calibration FILE` (and `bench qa --calibration FILE`)."""
    from fingereval.measure.calibration_check import calibrate_rows, reliability_png
    from fingereval.measure.model_bench import predict_qa

    records = _records(data, load_rubric(rubric))  # a bad data file (or rubric) fails before the model loads
    rows, failures = predict_qa(_answerer(model, max_new_tokens, size, fps, max_frames, device), records,
                                reason=reason, progress=not as_json)
    for failure in failures:
        err.print(f"warning: {failure}; left out", highlight=False, markup=False)
    calibration, report = calibrate_rows(rows, held_out, seed, model=model, data=str(data))
    calibration.fitted_on["mode"] = "reason" if reason else "direct"
    calibration.save(out_path)
    if png is not None:
        reliability_png({"before": report["reliability_before"], "after": report["reliability_after"]}, png,
                        f"reliability on {report['check']['videos']} unseen videos")
    report |= {"out": str(out_path), "model": model, "failed_videos": failures}
    if as_json:
        print_json(report)
        return
    typer.echo(f"temperature {calibration.temperature:.3f}, bias {calibration.bias:+.3f}: fitted on "
               f"{report['fit']['videos']} videos, checked on {report['check']['videos']} others "
               f"({report['check']['questions']} questions)")
    typer.echo(_line("before", report["before"]))
    typer.echo(_line("after", report["after"]))
    typer.echo(f"wrote {out_path}" + (f" and {png}" if png else ""))
