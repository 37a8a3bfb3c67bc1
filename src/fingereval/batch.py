"""Batch scoring from a manifest: results appended and flushed per video, resumable after a kill.

Manifest JSONL, one object a line: `video`, `prompt`, optional `id`, optional `questions` (a list of
questions, or a path to a questions file), optional `image` (image-to-video: the image the video was generated
from, shown to the model before the video; relative to the manifest's folder, as `video`). The results file gets
one VideoResult a line; a failed item gets an `error` object instead of scores and the run goes on. Running the
same command again skips the ids already in the results file, so a `kill -9` loses at most the video in flight.
"""
from __future__ import annotations

import functools
import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from pydantic import BaseModel, ValidationError

from fingereval.decode_ahead import DEFAULT_DEPTH, DEFAULT_WORKERS, decode_ahead_for, scored_in_order
from fingereval.errors import DataError, FingerEvalError
from fingereval.io import (LineError, append_jsonl, iter_jsonl, jsonl_lines, parse_jsonl, read_jsonl, read_text,
                           relative_to, validation_message, write_jsonl)
from fingereval.rubric import Rubric, default_rubric
from fingereval.schema import ErrorInfo, QuestionSet, VideoResult
from fingereval.text import not_utf8_message, repair, repair_json, warn_stderr


MANIFEST_HINT = "give JSON Lines of {\"video\": FILE, \"prompt\": TEXT} (see `fingereval score --help`)"


class ManifestItem(BaseModel):
    video: str
    prompt: str
    id: str | None = None
    questions: list[dict] | str | None = None
    image: str | None = None  # image-to-video: the conditioning image's file

    @property
    def key(self) -> str:
        return self.id if self.id is not None else self.video


@dataclass
class BatchSummary:
    done: int = 0
    failed: int = 0
    skipped_existing: int = 0
    bad_lines: list[str] = field(default_factory=list)
    truncated: int = 0  # scored, but the video ended early (VideoResult.video_truncated)
    failed_before: int = 0  # of skipped_existing: items whose record is an error from an earlier run

    @property
    def ok(self) -> bool:
        """Every manifest item is in the results with scores (a bad line or a failure, old or new, is not)."""
        return not self.failed and not self.failed_before and not self.bad_lines

    def report(self, out: Path, how: str = "") -> str:
        """The one line a batch ends with: counts, where the results are, and what to do about failures."""
        before = f" ({self.failed_before} of them failed)" if self.failed_before else ""
        line = (f"scored {self.done}, failed {self.failed}, already in the results {self.skipped_existing}{before}, "
                f"bad manifest lines {len(self.bad_lines)}, truncated videos {self.truncated}; results in {out}{how}")
        if self.failed or self.failed_before:
            line += "; the failed items carry their error there: fix them and rerun with --retry-failed"
        if self.bad_lines:
            line += "; fix the bad manifest lines (named above) and rerun"
        return line


def read_manifest(path: Path, on_warning: Callable[[str], None] = warn_stderr
                  ) -> Iterator[tuple[int, ManifestItem | str]]:
    """Yield (line number, item) or (line number, error message) for each non-blank line."""
    base = path.parent
    # bytes that are not UTF-8 are kept (as surrogates) for repair_json, or to open a file by its bytes
    for n, raw in iter_jsonl(path, "manifest", MANIFEST_HINT, encoding_errors="surrogateescape"):
        if isinstance(raw, LineError):
            yield n, str(raw)
            continue
        files = {k: raw.pop(k) for k in ("video", "image") if k in raw}
        raw, repaired = repair_json(raw)  # Latin-1 bytes or "\udcXX" escapes: see fingereval.text
        raw.update(files)  # kept as given: they name files, which open by their bytes
        if repaired:
            on_warning(not_utf8_message(f"manifest {path} line {n}", repaired[0]))
        try:
            item = ManifestItem.model_validate(raw)
        except ValidationError as e:
            yield n, str(LineError(path, n, f"{validation_message(e)}; fix or remove the line"))
            continue
        if not Path(item.video).is_absolute():  # paths relative to the manifest's folder
            item.video = str(base / item.video)
        if item.image is not None and not Path(item.image).is_absolute():
            item.image = str(base / item.image)
        yield n, item


def done_ids(out: Path) -> set[str]:
    """Ids already in the results file. A torn last line (killed mid-write) is cut off first."""
    if not out.exists():
        return set()
    data = out.read_bytes()
    if data and not data.endswith(b"\n"):
        cut = data.rfind(b"\n") + 1
        with open(out, "r+b") as f:
            f.truncate(cut)
        data = data[:cut]
    ids = set()
    for _, rec in read_jsonl(out, "results file", skip_bad=True)[0]:  # a line that is not JSON names no id
        key = rec.get("id") or rec.get("video")
        if key is not None:
            ids.add(str(key))
    return ids


def failed_ids(out: Path) -> set[str]:
    """Ids whose record in the results file is an error (call after done_ids, which mends a torn last line)."""
    if not out.exists():
        return set()
    ids = set()
    for _, rec in read_jsonl(out, "results file", skip_bad=True)[0]:
        if "error" in rec and (rec.get("id") or rec.get("video")) is not None:
            ids.add(str(rec.get("id") or rec.get("video")))
    return ids


def drop_failed(out: Path) -> int:
    """Remove error records from the results file (atomically) so that their items run again."""
    if not out.exists():
        return 0
    text = read_text(out, "results file")
    lines = jsonl_lines(text)  # numbered as parse_jsonl numbers them: "\n" only
    kept = [n for n, rec in parse_jsonl(text, out) if not isinstance(rec, LineError) and "error" not in rec]
    write_jsonl(out, (lines[n - 1] for n in kept))  # kept as written; a line that is not JSON goes too
    return sum(bool(line.strip()) for line in lines) - len(kept)


def item_questions(item: ManifestItem, questions_dir: Path | None, manifest_dir: Path,
                   rubric: Rubric | None = None) -> QuestionSet | None:
    """The item's own questions (inline, its file, or the questions folder's), read for the rubric; None: none."""
    if isinstance(item.questions, list):
        try:
            return QuestionSet.model_validate({"prompt": item.prompt, "questions": item.questions},
                                              context={"rubric": rubric or default_rubric()})
        except DataError as e:  # from a validator (duplicate ids, no questions, an unknown dimension)
            raise DataError(f"item {item.key}: questions: {e}") from None
        except ValidationError as e:  # its fields are named from the set down ("questions.0.text")
            raise DataError(f"item {item.key}: {validation_message(e)}") from None
    if isinstance(item.questions, str):
        p = Path(item.questions)
        return QuestionSet.load(p if p.is_absolute() else manifest_dir / p, item.prompt, rubric)
    if questions_dir is not None:
        p = questions_dir / f"{Path(item.key).stem if item.id is None else item.id}.json"
        if p.exists():
            return QuestionSet.load(p, item.prompt, rubric)
    return None


def pending_items(manifest: Path, out: Path, summary: BatchSummary, *, retry_failed: bool = False,
                  on_event: Callable[[str], None] = print) -> list[ManifestItem]:
    """Manifest items not yet in `out` (bad lines are reported and counted, duplicates scored once)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if retry_failed:
        drop_failed(out)
    seen = done_ids(out)
    failed = failed_ids(out)  # still failures: they keep the exit status non-zero until retried
    items: list[ManifestItem] = []
    for n, item in read_manifest(manifest, on_warning=on_event):
        if isinstance(item, str):
            summary.bad_lines.append(item)
            on_event(item)
        elif repair(item.key)[0] in seen:  # records hold the key as written out (see write_results)
            summary.skipped_existing += 1
            summary.failed_before += repair(item.key)[0] in failed
        else:
            seen.add(repair(item.key)[0])  # a duplicate id later in the manifest is not scored twice
            items.append(item)
    return items


def failure_result(item: ManifestItem, error: Exception, model: str) -> VideoResult:
    kind = error.kind if isinstance(error, FingerEvalError) else type(error).__name__
    return VideoResult(id=item.key, video=item.video, prompt=item.prompt, model=model,
                       error=ErrorInfo(type=kind, message=str(error)))


def score_item(evaluator, item: ManifestItem, questions_dir: Path | None, manifest_dir: Path,
               decoded: Callable | None = None) -> VideoResult:
    """One item's result; a failure becomes an error record instead of an exception. `decoded`: its clip,
    decoded ahead (fingereval.decode_ahead)."""
    try:
        qs = item_questions(item, questions_dir, manifest_dir, getattr(evaluator, "rubric", None))
        ahead = {} if decoded is None else {"decoded": decoded}
        image = {} if item.image is None else {"image": item.image}
        return evaluator.score(item.video, item.prompt, qs, item_id=item.key, **ahead, **image)
    except Exception as e:  # record any item failure and go on; finished results stay on disk
        return failure_result(item, e, evaluator.model_id)


def relative_to_results(path: str, out: Path) -> str:
    """A relative path (to the working folder, as a manifest's paths are joined) made relative to the results
    file's folder, where `fingereval report` and `export --to instruct` look for it (docs/report.md); an
    absolute path is kept."""
    return path if os.path.isabs(path) else relative_to(path, Path(out).parent)


def write_results(out: Path, results: Iterable[VideoResult], total: int, summary: BatchSummary, *,
                  on_event: Callable[[str], None] = print, progress: bool = True) -> BatchSummary:
    """Append each result to `out` as it arrives, flushed and fsynced (append_jsonl), with a progress bar."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = (TextColumn("[bold]scoring"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
               TextColumn("{task.fields[current]}"))
    Path(out).touch()  # the results file exists even when nothing is left to score
    with Progress(*columns, disable=not progress, transient=False) as bar:
        task = bar.add_task("score", total=total, current="")
        for result in results:
            result.video = relative_to_results(result.video, out)
            if result.image is not None:
                result.image.path = relative_to_results(result.image.path, out)
            # a file name that is not UTF-8 opens by its bytes but cannot be written as JSON text
            result.video = repair(result.video)[0]
            result.id = None if result.id is None else repair(result.id)[0]
            if result.error is not None:
                result.error.message = repair(result.error.message)[0]
                summary.failed += 1
                on_event(f"{result.id}: {result.error.message}")
            else:
                summary.done += 1
                summary.truncated += bool(getattr(result, "video_truncated", False))
            append_jsonl(out, result.to_json())  # a finished result survives a kill -9 of the next item
            bar.update(task, advance=1, current=Path(result.video).name)
    return summary


def run_manifest(evaluator, manifest: Path, out: Path, *, questions_dir: Path | None = None, retry_failed: bool = False,
                 on_event: Callable[[str], None] = print, progress: bool = True, videos_at_once: int = 1,
                 decode_ahead: int = DEFAULT_DEPTH, decode_workers: int = DEFAULT_WORKERS) -> BatchSummary:
    """Score every manifest item not yet in `out` in this process; the model stays loaded for the whole run.

    `videos_at_once` > 1 scores that many videos from threads, for answerers that wait on a server (the openai
    answerer bounds its requests in flight across all of them); results are written as each one finishes.
    Otherwise the next `decode_ahead` videos are decoded on `decode_workers` threads while the model works
    (fingereval.decode_ahead; 0: each decoded in line)."""
    summary = BatchSummary()
    items = pending_items(manifest, out, summary, retry_failed=retry_failed, on_event=on_event)
    score = functools.partial(score_item, evaluator, questions_dir=questions_dir, manifest_dir=manifest.parent)
    if videos_at_once > 1:
        return write_results(out, _threaded(score, items, videos_at_once), len(items), summary, on_event=on_event,
                             progress=progress)
    ahead = decode_ahead_for(evaluator, decode_ahead if len(items) > 1 else 0, decode_workers)
    if ahead is None:
        return write_results(out, map(score, items), len(items), summary, on_event=on_event, progress=progress)
    with ahead:
        results = scored_in_order(ahead, items, lambda item: item.video, lambda item, clip: score(item, decoded=clip),
                                  image_of=lambda item: item.image)
        write_results(out, results, len(items), summary, on_event=on_event, progress=progress)
    on_event(ahead.stats.line(ahead.depth, ahead.workers))
    return summary


def _threaded(score: Callable[[ManifestItem], VideoResult], items: list[ManifestItem], width: int) -> Iterator[VideoResult]:
    """Results in the order they finish, with at most `width` items being scored at any time."""
    from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

    queue = iter(items)
    with ThreadPoolExecutor(max_workers=width, thread_name_prefix="fingereval-video") as pool:
        running = {pool.submit(score, item) for item in itertools.islice(queue, width)}
        while running:
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()  # score_item turns every failure into a result
                running |= {pool.submit(score, item) for item in itertools.islice(queue, 1)}
