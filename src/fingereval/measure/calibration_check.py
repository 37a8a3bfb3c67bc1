"""How well p_yes means what it says: ECE (15 equal-width bins), the Brier score, a reliability diagram,
each with a 95 % interval that resamples videos (a video's questions are not independent: see clusters.py),
and a calibration fitted on some videos and checked on the others (the split: fingereval.data.split)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fingereval.data.split import split_videos as _split
from fingereval.measure.metrics import bootstrap_ci
from fingereval.score.calibration import Calibration

BINS = 15


def bin_index(p: np.ndarray, bins: int = BINS) -> np.ndarray:
    """The equal-width bin of each p_yes in [0, 1]: [0, 1/bins), ..., [1 - 1/bins, 1] (1.0 in the last bin)."""
    return np.minimum((np.asarray(p, dtype=float) * bins).astype(int), bins - 1)


def ece(p: np.ndarray, y: np.ndarray, bins: int = BINS) -> float:
    """Expected calibration error: the count-weighted gap between mean p_yes and the share of yes per bin."""
    which = bin_index(p, bins)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.sum() * abs(p[inside].mean() - y[inside].mean())
    return float(total / len(p))


def brier(p: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean((p - y) ** 2))


def reliability(p: Sequence[float], y: Sequence[bool], bins: int = BINS) -> list[dict]:
    """Per bin: mean p_yes, share of human yes, count (empty bins left out)."""
    p, y = np.asarray(p, dtype=float), np.asarray(y, dtype=float)
    which = bin_index(p, bins)
    return [{"p_mean": float(p[which == b].mean()), "frac_yes": float(y[which == b].mean()),
             "count": int((which == b).sum()), "bin": [b / bins, (b + 1) / bins]}
            for b in range(bins) if (which == b).any()]


def _video_ci(metric, videos: Sequence[str], p: np.ndarray, y: np.ndarray, n_resamples: int, seed: int
              ) -> list[float] | None:
    """95 % percentile interval of `metric` over videos drawn with replacement, each with all its questions."""
    if len(set(videos)) < 2:
        return None
    ci = bootstrap_ci(metric, p, y, n_resamples=n_resamples, seed=seed, clusters=videos)
    return [ci.low, ci.high]


def calibration_report(videos: Sequence[str], p_yes: Sequence[float], human_yes: Sequence[bool],
                       n_resamples: int = 500, seed: int = 0) -> dict:
    p, y = np.asarray(p_yes, dtype=float), np.asarray(human_yes, dtype=float)
    return {"ece": ece(p, y), "ece_ci95": _video_ci(ece, videos, p, y, n_resamples, seed),
            "brier": brier(p, y), "brier_ci95": _video_ci(brier, videos, p, y, n_resamples, seed),
            "bins": BINS, "n": int(len(p)), "videos": len(set(videos))}


def before_after(rows: Sequence[dict], calibration: Calibration | None, n_resamples: int = 500) -> dict:
    """ECE and Brier of QA rows ({video, p_yes, human_answer}) before and, given a calibration, after it."""
    videos = [r["video"] for r in rows]
    human = [r["human_answer"] == "yes" for r in rows]
    raw = [r["p_yes"] for r in rows]
    out = {"before": calibration_report(videos, raw, human, n_resamples),
           "reliability_before": reliability(raw, human)}
    if calibration is not None:
        fixed = [calibration.apply(x) for x in raw]
        out |= {"after": calibration_report(videos, fixed, human, n_resamples), "reliability_after": reliability(fixed, human),
                "temperature": calibration.temperature, "bias": calibration.bias}
    return out


def split_videos(videos: Sequence[str], held_out: float, seed: int = 0) -> tuple[set[str], set[str]]:
    """(fit, check) videos by fingereval.data.split's rule: stable across runs and machines, the fit never empty."""
    return _split(videos, held_out, seed)


def reliability_png(curves: dict[str, list[dict]], path, title: str = "reliability") -> None:
    """A reliability diagram (one line per curve: predicted p_yes against the observed share of yes)."""
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.2, 4.2), dpi=120)
    ax.plot([0, 1], [0, 1], ls="--", c="grey", lw=1, label="perfect")
    for label, bins in curves.items():
        ax.plot([b["p_mean"] for b in bins], [b["frac_yes"] for b in bins], marker="o", label=label)
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="predicted p_yes", ylabel="share of human yes", title=title)
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def calibrate_rows(rows: Sequence[dict], held_out: float = 0.3, seed: int = 0, model: str | None = None,
                   data: str | None = None, n_resamples: int = 500) -> tuple[Calibration, dict]:
    """Fit a temperature and bias on some videos' QA rows, and check it on the others (never seen by the fit)."""
    from fingereval.score.calibration import fit_calibration

    fit_videos, check_videos = split_videos([r["video"] for r in rows], held_out, seed)
    fit_rows = [r for r in rows if r["video"] in fit_videos]
    check_rows = [r for r in rows if r["video"] in check_videos]
    temperature, bias = fit_calibration([r["p_yes"] for r in fit_rows], [r["human_answer"] == "yes" for r in fit_rows])
    calibration = Calibration(temperature=temperature, bias=bias, model=model,
                              fitted_on={"data": data, "videos": len(fit_videos), "questions": len(fit_rows),
                                         "split_seed": seed})
    report = {"fit": {"videos": len(fit_videos), "questions": len(fit_rows)},
              "check": {"videos": len(check_videos), "questions": len(check_rows)},
              **before_after(check_rows or fit_rows, calibration, n_resamples)}
    if not check_rows:
        report["warning"] = "one video only: checked on the videos it was fitted on"
    return calibration, report
