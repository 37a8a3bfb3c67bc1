"""The published pairwise leaderboard (REFERENCE.md) with our own numbers inserted, as rows for a table or
Markdown. Published numbers are data copied from their source; FingER's row is derived arithmetic."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


from fingereval.measure.pairs import Benchmark

PUBLISHED_SOURCE = "VisionReward paper, arXiv 2412.21059, Table 2"

# model -> (GenAI-Bench tau, GenAI-Bench diff, MonetBench tau, MonetBench diff), in percent
PUBLISHED: dict[str, tuple[float, float, float, float]] = {
    "ImageReward": (48.4, 72.1, 55.8, 58.4),
    "PickScore": (52.4, 75.4, 57.7, 61.6),
    "HPSv2": (49.3, 73.0, 59.3, 62.5),
    "MPS": (46.9, 67.6, 55.8, 58.9),
    "GPT-4o": (41.8, 54.3, 45.7, 48.3),
    "Gemini": (46.9, 61.7, 52.2, 56.8),
    "VQAScore": (45.2, 68.0, 56.1, 59.5),
    "VideoScore": (47.8, 71.4, 49.1, 54.9),
    "VisionReward": (51.8, 74.4, 64.0, 72.1),
}

# FingER (arXiv 2504.10358) states relative margins over the previous best, not a table; we assume
# the margins are over VisionReward (REFERENCE.md) and apply them to its row.
FINGER_MARGINS: dict[Benchmark, float] = {Benchmark.genai_bench: 0.118, Benchmark.monetbench: 0.055}
FINGER_BASELINE = "VisionReward"
FINGER_SOURCE = ("derived arithmetic, not published: FingER (arXiv 2504.10358) reports +11.8 % on GenAI-Bench "
                 "and +5.5 % on MonetBench relative to the previous best; applied here to VisionReward's row")


@dataclass(frozen=True)
class LeaderboardRow:
    model: str
    tau: float  # percent
    diff: float | None  # percent; None when a run had no decided pairs
    source: str
    kind: str  # "published" | "derived" | "ours"
    tau_ci: tuple[float, float] | None = None
    diff_ci: tuple[float, float] | None = None
    n_pairs: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _columns(benchmark: Benchmark) -> slice:
    return slice(0, 2) if benchmark == Benchmark.genai_bench else slice(2, 4)


def published_rows(benchmark: Benchmark | str) -> list[LeaderboardRow]:
    bench = Benchmark(benchmark)
    rows = [LeaderboardRow(model, *values[_columns(bench)], source=PUBLISHED_SOURCE, kind="published")
            for model, values in PUBLISHED.items()]
    margin = 1 + FINGER_MARGINS[bench]
    tau, diff = PUBLISHED[FINGER_BASELINE][_columns(bench)]
    rows.append(LeaderboardRow("FingER (paper, estimate)", round(tau * margin, 1), round(diff * margin, 1),
                               source=FINGER_SOURCE, kind="derived"))
    return rows


def our_row(report: dict[str, Any], name: str = "fingereval (this run)") -> LeaderboardRow:
    """Our overall tau/diff from an `evaluate_pairs` report, in percent with CIs."""
    overall = report["metrics"]["overall"]
    tau, diff = overall["tau"], overall["diff"]

    def pct(x: float) -> float:
        return round(100 * x, 1)

    return LeaderboardRow(
        name, pct(tau["value"]), pct(diff["value"]) if diff else None,
        source=f"this run: {report['n_joined']} of {report['n_pairs']} pairs scored, "
               f"{report['bootstrap']['confidence']:.0%} bootstrap CI over {report['bootstrap']['resamples']} resamples",
        kind="ours", tau_ci=(pct(tau["low"]), pct(tau["high"])),
        diff_ci=(pct(diff["low"]), pct(diff["high"])) if diff else None, n_pairs=overall["n_pairs"])


def leaderboard(benchmark: Benchmark | str, ours: list[LeaderboardRow] = ()) -> list[LeaderboardRow]:
    """Published rows plus ours, best tau first."""
    return sorted([*published_rows(benchmark), *ours], key=lambda r: r.tau, reverse=True)


def format_cell(value: float | None, ci: tuple[float, float] | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if ci is None else f"{value:.1f} [{ci[0]:.1f}, {ci[1]:.1f}]"


def render_markdown(rows: list[LeaderboardRow], benchmark: Benchmark | str) -> str:
    bench = Benchmark(benchmark)
    lines = [f"Pairwise accuracy on {bench.value} (%): tau = with ties (tie-calibrated), diff = without ties.", "",
             "| model | tau | diff | source |", "| --- | ---: | ---: | --- |"]
    for row in rows:
        model = f"**{row.model}**" if row.kind == "ours" else (f"*{row.model}*" if row.kind == "derived" else row.model)
        lines.append(f"| {model} | {format_cell(row.tau, row.tau_ci)} | {format_cell(row.diff, row.diff_ci)} | {row.source} |")
    return "\n".join(lines) + "\n"
