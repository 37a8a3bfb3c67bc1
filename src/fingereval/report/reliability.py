"""The report's calibration section, from the JSON `fingereval bench qa --json` or `calibrate --json` printed.

That file comes from the user, so it is read as untrusted input: its shape checked field by field (numbers in
range, bins bounded in count) before anything is plotted, and any fault is one DataError naming the file.
"""
from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fingereval.errors import DataError
from fingereval.io import read_json, validation_message

HINT = "give the JSON that `fingereval bench qa --json` or `fingereval calibrate --json` prints"
MAX_BINS = 1000  # a diagram has BINS (10) points per curve; far more is not a report of ours

Share = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0, le=10**12)]


class ReliabilityBin(BaseModel):
    model_config = ConfigDict(extra="ignore")

    p_mean: Share
    frac_yes: Share


class Measured(BaseModel):
    """ECE and Brier on `n` questions of `videos` videos (`fingereval.measure.calibration_check.calibration_report`)."""
    model_config = ConfigDict(extra="ignore")

    ece: Share
    brier: Share
    n: Count
    videos: Count


class CalibrationReport(BaseModel):
    model_config = ConfigDict(extra="ignore")

    before: Measured | None = None
    after: Measured | None = None
    reliability_before: Annotated[list[ReliabilityBin], Field(max_length=MAX_BINS)]
    reliability_after: Annotated[list[ReliabilityBin], Field(max_length=MAX_BINS)] | None = None


def read_calibration_report(path: Path) -> CalibrationReport:
    """The calibration part of a `bench qa --json` ("calibration") or `calibrate --json` output."""
    raw = read_json(path, "calibration report", HINT)
    found = raw.get("calibration", raw) if isinstance(raw, dict) else None
    if not isinstance(found, dict) or "reliability_before" not in found:
        raise DataError(f"calibration report {path}: no reliability bins in it; {HINT}")
    try:
        return CalibrationReport.model_validate(found)
    except ValidationError as e:
        raise DataError(f"calibration report {path}: {validation_message(e, limit=1)}; {HINT}") from None


def reliability_html(path: Path) -> str:
    """The report's section: ECE and Brier before and after, and the reliability diagram inline."""
    from fingereval.measure.calibration_check import reliability_png
    from fingereval.report.html import reliability_section

    report = read_calibration_report(path)
    curves = {"before": [b.model_dump() for b in report.reliability_before]}
    if report.reliability_after is not None:
        curves["after"] = [b.model_dump() for b in report.reliability_after]
    buffer = io.BytesIO()
    reliability_png(curves, buffer, "reliability")
    measured = {when: getattr(report, when).model_dump() for when in ("before", "after") if getattr(report, when)}
    return reliability_section(measured, "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii"))
