"""The HTML report at 1,000 videos: file size, and time to open it in headless chromium, lazy vs eager.

Scores a few real clips with the tiny model, then builds a 1,000-video report from those results (ids,
prompts of real length (80 words by default, as real generated clips' prompts run) and scores varied, each
clip's real frame strip reused) twice: as `fingereval report` writes it
(each video's detail parsed and drawn only when its row opens) and eagerly (every detail drawn at load, the
baseline). Opening = navigation until the load event has fired and the table holds all its rows (eager: and
every detail is drawn, and its images decoded). Median of --repeats fresh pages each. It also measures the
table as drawn at 1280x900: the tallest row and the whole table's height, in pixels (docs/report.md).

    .venv/bin/python benchmarks/bench_report.py                     # about a minute on 2 cores
    .venv/bin/python benchmarks/bench_report.py --screenshot docs/img/report.png   # the README's picture

`--screenshot` writes the report of the scored clips themselves, with one row opened; with `--demo DIR` (the
folder `fingereval demo --out DIR` wrote) the clips are instead four held-out probe videos scored with reasons by
the demo's fine-tuned checkpoint, whose scores and reasons vary where the random tiny model's do not:

    .venv/bin/python benchmarks/bench_report.py --screenshot docs/img/report.png --demo /tmp/demo_run
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

PROMPTS = ["A red square slides to the right over a striped floor",
           "A blue ball bounces twice in a sunny garden",
           "Two green cubes spin slowly on a wooden table",
           "A yellow kite drifts across a cloudy sky"]
COLOURS = [(220, 40, 40), (40, 70, 220), (40, 180, 60), (230, 200, 40)]


def write_clip(path: Path, colour, seed: int, size: int = 224, seconds: float = 2.0, fps: int = 8) -> Path:
    """A textured, panning background under a moving square: frames that compress like real ones."""
    import av

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size * 2]
    texture = ((np.sin(xx / (9.0 + seed)) + np.cos(yy / 13.0)) * 50 + 120).astype(np.int16)
    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=fps)
        s.width = s.height = size
        s.pix_fmt = "yuv420p"
        for i in range(int(seconds * fps)):
            x0 = (i * 5) % size
            f = np.repeat(texture[:, x0:x0 + size, None], 3, axis=2) + rng.integers(-12, 12, (size, size, 1))
            f = np.clip(f, 0, 255).astype(np.uint8)
            x = 10 + i * 8 % (size - 70)
            f[size // 3:size // 3 + 60, x:x + 60] = colour
            for p in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def score_clips(root: Path) -> Path:
    """The clips scored by the tiny model through the batch runner, as `fingereval score --manifest` does."""
    from fingereval.batch import run_manifest
    from fingereval.evaluator import Evaluator
    from fingereval.tiny.model import TinyShape, build_tiny_model
    from fingereval.video import VideoConfig

    model = build_tiny_model(root / "tiny", TinyShape(init_std=0.1), seed=0)
    items = [{"id": f"clip-{i}", "video": str(write_clip(root / f"clip-{i}.mp4", c, i)), "prompt": p}
             for i, (p, c) in enumerate(zip(PROMPTS, COLOURS))]
    (root / "manifest.jsonl").write_text("".join(json.dumps(x) + "\n" for x in items))
    out = root / "results.jsonl"
    run_manifest(Evaluator(model, video_config=VideoConfig(size=112, max_frames=4)), root / "manifest.jsonl", out,
                 on_event=lambda m: None, progress=False)
    return out


def score_demo(root: Path, demo: Path, n: int = 4) -> Path:
    """`n` held-out probe videos with their recorded questions, scored with reasons by the demo's SFT model."""
    from fingereval.batch import run_manifest
    from fingereval.data.instruct import group_by_video, load_instruct
    from fingereval.evaluator import Evaluator
    from fingereval.tiny.demo import DEMO_VIDEO, REASON_TOKENS

    held_out = demo / "probes" / "qa_heldout.jsonl"
    items = [{"id": Path(video).stem, "video": str(video), "prompt": recs[0].prompt,
              "questions": [{"id": r.id or str(i), "dimension": r.dimension, "entity": r.entity, "text": r.question,
                             "good_answer": r.good_answer} for i, r in enumerate(recs)]}
             for video, recs in list(group_by_video(load_instruct(held_out)).items())[:n]]
    (root / "manifest.jsonl").write_text("".join(json.dumps(x) + "\n" for x in items))
    out = root / "results.jsonl"
    evaluator = Evaluator(demo / "sft", video_config=DEMO_VIDEO, reason=True, max_new_tokens=REASON_TOKENS)
    run_manifest(evaluator, root / "manifest.jsonl", out, on_event=lambda m: None, progress=False)
    return out


# words of real prompts, cycled to make a prompt of any length (an 80-word prompt as a real clip's runs)
WORDS = ("a cinematic tracking shot follows a young woman in a red raincoat as she walks along a crowded night "
         "market street neon signs reflect in the puddles on the wet pavement steam rises from the food stalls "
         "on both sides while a paper lantern sways in the breeze above her head and she stops to look at a small "
         "black cat sitting on a wooden crate then kneels down slowly and reaches out her hand").split()


def long_prompt(prompt: str, words: int, i: int) -> str:
    """`prompt` (take i), grown to `words` words with words of a real prompt."""
    head = f"{prompt} (take {i})".split()
    return " ".join(head + [WORDS[(i + k) % len(WORDS)] for k in range(max(0, words - len(head)))])


def thousand(results_path: Path, frames: int, eager: bool, words: int = 80) -> str:
    from fingereval.report import ReportVideo, build_report, frame_strip
    from fingereval.schema import VideoResult

    real = [VideoResult.model_validate_json(x) for x in results_path.read_text().splitlines()]
    strips = [frame_strip(r.video, frames) for r in real]
    rng = random.Random(0)
    videos = []
    for i in range(1000):
        r = real[i % len(real)]
        dims = {k: rng.random() for k in r.dimensions}
        copy = r.model_copy(update={"id": f"video-{i:04d}", "prompt": long_prompt(r.prompt, words, i), "dimensions": dims,
                                    "overall": sum(dims.values()) / len(dims),
                                    "questions": [q.model_copy(update={"score": rng.random()}) for q in r.questions]})
        videos.append(ReportVideo(copy, frames=strips[i % len(real)]))
    return build_report(videos, title="1,000 videos", eager=eager)


READY = {False: "document.querySelectorAll('#videos tr.video').length === 1000 && document.readyState === 'complete'",
         True: "performance.getEntriesByName('details-rendered').length === 1 && document.readyState === 'complete'"
               " && [...document.images].every(i => i.complete)"}


def open_seconds(browser, path: Path, eager: bool) -> float:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    start = time.perf_counter()
    page.goto(path.as_uri(), wait_until="load", timeout=300_000)
    page.wait_for_function(READY[eager], timeout=300_000, polling=20)
    seconds = time.perf_counter() - start
    context.close()
    return seconds


def table_pixels(browser, path: Path) -> dict:
    """The table as drawn at 1280x900: its tallest row and its height, and how many rows one screen shows."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(path.as_uri(), wait_until="load", timeout=300_000)
    page.wait_for_function(READY[False], timeout=300_000)
    rows = page.eval_on_selector_all("#videos tr.video", "rs => rs.map(r => r.getBoundingClientRect().height)")
    table = page.eval_on_selector("#videos", "t => t.getBoundingClientRect().height")
    page.close()
    return {"max_row_px": max(rows), "table_px": table, "rows_per_screen": round(900 / (sum(rows) / len(rows)), 1)}


def screenshot(browser, results_path: Path, out: Path, title: str) -> None:
    from fingereval.report import write_report

    html = results_path.parent / "report.html"
    write_report(results_path, html, title=title, on_warning=print)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(html.as_uri())
    page.click("#videos th[data-key=overall]")
    page.click("#videos tr.video[data-i='0']")
    page.wait_for_function("[...document.querySelectorAll('tr.detail img')].every(i => i.complete && i.naturalWidth)")
    out.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out), full_page=True)
    page.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=6, help="frames per video in the strip (the command's default)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--prompt-words", type=int, default=80, help="words in each prompt of the 1,000 videos")
    ap.add_argument("--screenshot", type=Path, help="write the picture of a small report here and stop")
    ap.add_argument("--demo", type=Path, help="with --screenshot: score held-out videos of this demo output folder")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as play:
        root = Path(tmp)
        if args.screenshot and args.demo:
            results, title = score_demo(root, args.demo), "fingereval report: held-out probe videos, demo SFT model"
        else:
            results, title = score_clips(root), "fingereval report: four clips, tiny random model"
        browser = play.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        if args.screenshot:
            screenshot(browser, results, args.screenshot, title)
            print(f"wrote {args.screenshot}")
            return
        row = {}
        for eager in (False, True):
            page = root / f"{'eager' if eager else 'lazy'}.html"
            page.write_text(thousand(results, args.frames, eager, args.prompt_words), encoding="utf-8")
            open_seconds(browser, page, eager)  # warm-up: chromium's first page pays its own start-up
            times = [open_seconds(browser, page, eager) for _ in range(args.repeats)]
            row["eager" if eager else "lazy"] = {"mb": page.stat().st_size / 1e6, "open_s": statistics.median(times)}
            if not eager:
                row["table"] = table_pixels(browser, page)
        browser.close()
    row["ratio_eager_over_lazy"] = row["eager"]["open_s"] / row["lazy"]["open_s"]
    if args.json:
        print(json.dumps(row))
        return
    for k in ("lazy", "eager"):
        print(f"{k:5s}  {row[k]['mb']:6.1f} MB  open {row[k]['open_s']:.3f} s (median of {args.repeats})")
    print(f"lazy opens {row['ratio_eager_over_lazy']:.1f}x faster than drawing every detail at load "
          f"(1,000 videos, {args.frames} frames each, {args.prompt_words}-word prompts)")
    t = row["table"]
    print(f"table: tallest row {t['max_row_px']:.0f} px, table {t['table_px']:.0f} px, "
          f"{t['rows_per_screen']} rows per 900-px screen")


if __name__ == "__main__":
    main()
