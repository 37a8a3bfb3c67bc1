"""The report page built from records: VideoResult lines plus each video's frame strip (or a note why none).

Everything the page shows comes from here as data; the page's script only lays it out. The histograms are
drawn here as inline SVG, so they need no script at all.
"""
from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from fingereval.measure.results import dimension_columns
from fingereval.report.frames import Frame
from fingereval.report.template import PAGE, SCRIPT, STYLE
from fingereval.schema import VideoResult

BINS = 10


@dataclass
class ReportVideo:
    result: VideoResult
    frames: list[Frame] = field(default_factory=list)
    note: str | None = None  # why there are no frames (missing or unreadable file, --frames 0)
    image: str | None = None  # image-to-video: the conditioning image as a JPEG data URI, shown before the frames
    image_note: str | None = None  # why the result's image is not shown (missing, unreadable, changed)


def _columns(with_model: bool, dimensions: Sequence[tuple[str, str]]) -> list[dict]:
    cols = [{"key": "id", "label": "video", "kind": "name"}]
    cols += [{"key": "model", "label": "model", "kind": "name"}] if with_model else []  # several models compared
    cols += [{"key": "prompt", "label": "prompt", "kind": "prompt"},
             {"key": "overall", "label": "overall", "kind": "score"}]
    cols += [{"key": key, "label": name, "kind": "score", "dimension": True} for key, name in dimensions]
    return cols + [{"key": "questions", "label": "questions", "kind": "count"},
                   {"key": "status", "label": "status", "kind": "status"}]


def _status(r: VideoResult) -> str:
    if r.error is not None:
        return f"failed ({r.error.type})"
    return "truncated" if r.video_truncated else "ok"


def _flags(r: VideoResult) -> list[str]:
    flags = []
    if r.error is not None:
        flags.append(f"failed: {r.error.type}: {r.error.message}")
    if r.video_truncated:
        flags.append(f"truncated video: scored on its first {r.video_seconds_decoded or 0:.2f} s only")
    if r.answers_unreadable:
        flags.append(f"{r.answers_unreadable} answer(s) unreadable, scored at p_yes 0.5")
    return flags


def _summary_row(i: int, r: VideoResult, keys: Sequence[str]) -> dict:
    return {"i": i, "id": r.id or r.video, "model": r.model or "", "prompt": r.prompt, "overall": r.overall,
            "dimensions": {k: r.dimensions.get(k) for k in keys}, "questions": len(r.questions),
            "status": _status(r), "error": r.error is not None}


def _detail(v: ReportVideo) -> dict:
    r = v.result
    questions = [{"dimension": q.dimension, "entity": q.entity, "question": q.question, "good_answer": q.good_answer,
                  "answer": q.answer, "p_yes": q.p_yes, "score": q.score, "reason": q.reason,
                  "flags": [f for f, on in (("answer tag appended", q.forced_answer),
                                            ("answer unreadable", q.answer_unreadable)) if on]}
                 for q in r.lost_points()]  # worst first: why the video lost its points
    image = None if r.image is None else {"path": r.image.path, "sha256": r.image.sha256, "src": v.image,
                                          "note": v.image_note}
    return {"video": r.video, "model": r.model, "mode": r.mode, "flags": _flags(r), "note": v.note,
            "frames": [{"t": round(f.t, 3), "src": f.src} for f in v.frames], "image": image, "questions": questions}


def _json(obj) -> str:
    # "<" escaped inside strings keeps a prompt holding "</script>" from ending the element early
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")).replace("<", "\\u003c")


def histogram_svg(label: str, values: Sequence[float], width: int = 210, height: int = 110) -> str:
    """A BINS-bin histogram of scores in [0, 1] as inline SVG, with the count and the mean."""
    counts = [0] * BINS
    for v in values:
        counts[min(BINS - 1, int(v * BINS))] += 1
    top, plot_h, bin_w = max(counts) or 1, height - 30, (width - 20) / BINS
    bars = "".join(
        f'<rect class="bin" x="{10 + k * bin_w + 1:.1f}" y="{12 + plot_h * (1 - c / top):.1f}" width="{bin_w - 2:.1f}" '
        f'height="{plot_h * c / top:.1f}"><title>{k / BINS:.1f}-{(k + 1) / BINS:.1f}: {c}</title></rect>'
        for k, c in enumerate(counts))
    mean = f"mean {sum(values) / len(values):.3f}" if values else "no scores"
    axis = (f'<text x="10" y="{height - 4}">0</text><text x="{width / 2 - 6}" y="{height - 4}">0.5</text>'
            f'<text x="{width - 16}" y="{height - 4}">1</text><text x="10" y="9">n {len(values)} · {mean}</text>')
    return (f'<figure class="hist" data-dimension="{html.escape(label)}"><h3>{html.escape(label)}</h3>'
            f'<svg width="{width}" height="{height}" role="img" aria-label="{html.escape(label)} histogram">'
            f'<line x1="10" y1="{12 + plot_h}" x2="{width - 10}" y2="{12 + plot_h}" stroke="#999"/>{bars}{axis}</svg></figure>')


def reliability_section(calibration: dict, diagram_uri: str) -> str:
    """The calibration a `bench qa --json` or `calibrate --json` measured: ECE and Brier, and the diagram."""
    lines = [f"{when}: ECE {calibration[when]['ece']:.3f}, Brier {calibration[when]['brier']:.3f} "
             f"({calibration[when]['n']} questions, {calibration[when]['videos']} videos)"
             for when in ("before", "after") if when in calibration]
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return (f'<section id="reliability"><h2>Calibration of the answer slot</h2><ul>{items}</ul>'
            f'<img alt="reliability diagram" src="{diagram_uri}" width="420"></section>\n')


def build_report(videos: Sequence[ReportVideo], *, title: str = "fingereval report", source: str = "",
                 eager: bool = False, reliability: str = "",
                 dimensions: Sequence[tuple[str, str]] | None = None) -> str:
    """The whole self-contained page. `eager` opens every video's detail at load (a benchmark baseline).
    `dimensions`: (key, name) of the dimension columns (default: those the results hold, dimension_columns)."""
    results = [v.result for v in videos]
    dimensions = list(dimensions if dimensions is not None else dimension_columns(results))
    scored = [r for r in results if r.error is None]
    failed = len(results) - len(scored)
    columns = _columns(len({r.model for r in results}) > 1, dimensions)
    hists = [histogram_svg("overall", [r.overall for r in scored if r.overall is not None])]
    hists += [histogram_svg(name, [r.dimensions[key] for r in scored if r.dimensions.get(key) is not None])
              for key, name in dimensions]
    headers = "".join(f'<th data-key="{c["key"]}" aria-sort="none">{html.escape(c["label"])}</th>' for c in columns)
    keys = [k for k, _ in dimensions]
    data = {"columns": columns, "videos": [_summary_row(i, r, keys) for i, r in enumerate(results)], "eager": eager}
    details = "\n".join(f'<script type="application/json" id="detail-{i}">{_json(_detail(v))}</script>'
                        for i, v in enumerate(videos))
    meta = f"{len(results)} videos" + (f" from {source}" if source else "") + (f" · {failed} failed" if failed else "")
    rubrics = sorted({f"{r.rubric.name} ({r.rubric.sha256[:12]})" for r in results if r.rubric is not None})
    meta += f" · rubric {', '.join(rubrics)}" if rubrics else ""  # what the scores mean: the rubric they used
    return PAGE.format(title=html.escape(title), style=STYLE, meta=html.escape(meta), histograms="".join(hists),
                       reliability=reliability, headers=headers,
                       data=_json(data), script=SCRIPT, details=details)
