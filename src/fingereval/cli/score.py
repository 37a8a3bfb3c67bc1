"""`fingereval questions | score | answerers`: ask, answer and score one video or a manifest."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from fingereval.answer.base import DEFAULT_MODEL
from fingereval.cli._common import RUBRIC_HELP, VIDEO, err, fail, out, warn
from fingereval.decode_ahead import DEFAULT_DEPTH, DEFAULT_WORKERS
from fingereval.errors import ConfigError, FingerEvalError


def _prompt_option(prompt: str | None) -> str | None:
    """--prompt as valid text: bytes that are not UTF-8 are read as Windows-1252, with a warning (fingereval.text)."""
    from fingereval.text import clean_text

    return None if prompt is None else clean_text(prompt, "--prompt", warn)


def _generator_options(generator: str, llm_base_url: str | None, llm_model: str | None, llm_api_key: str | None,
                       local_model: str | None, language: str | None = None) -> dict:
    from fingereval.ask.language import language_name  # an unknown language: a ConfigError naming the choices

    said = {"language": language} if language else {}
    if generator == "llm":
        return {k: v for k, v in dict(base_url=llm_base_url, model=llm_model, api_key=llm_api_key).items() if v} | said
    if generator == "local":
        return ({"model": local_model} if local_model else {}) | said
    if language and language_name(language) != "English":
        raise ConfigError(f"--language {language} needs --generator llm (or local): the {generator} generator writes "
                          f"English questions only")
    return {}


LANGUAGE_HELP = ("--generator llm/local: the language of the questions (ISO 639-1 code such as es, zh, ja; default en), "
                 "from a prompt in any language")


GEN_HELP = "question generator: templates (offline), llm (OpenAI-compatible endpoint) or local (transformers text LLM)"


def questions(
    prompt: str = typer.Option(..., "--prompt", "-p", help="the text prompt of the video"),
    generator: str = typer.Option("templates", "--generator", "-g", help=GEN_HELP),
    out_path: Optional[Path] = typer.Option(None, "--out", "-o", help="write the question set here (JSON)"),
    llm_base_url: Optional[str] = typer.Option(None, envvar="FINGEREVAL_LLM_BASE_URL", help="OpenAI-compatible base URL"),
    llm_model: Optional[str] = typer.Option(None, envvar="FINGEREVAL_LLM_MODEL", help="model name at that endpoint"),
    llm_api_key: Optional[str] = typer.Option(None, envvar="FINGEREVAL_LLM_API_KEY", help="API key for that endpoint"),
    local_model: Optional[str] = typer.Option(None, help="hub id or folder of a text LLM for --generator local"),
    rubric: Optional[str] = typer.Option(None, "--rubric", help=RUBRIC_HELP),
    language: Optional[str] = typer.Option(None, "--language", help=LANGUAGE_HELP),
):
    """Write entity-level yes/no questions in the rubric's dimensions (FingER's five by default) for a prompt."""
    from fingereval.ask import get_generator

    prompt = _prompt_option(prompt)
    try:
        options = _generator_options(generator, llm_base_url, llm_model, llm_api_key, local_model, language)
        qs = get_generator(generator, rubric=rubric, **options).generate(prompt)
    except FingerEvalError as e:
        fail(e)
    text = qs.model_dump_json(indent=2)
    if out_path:
        out_path.write_text(text + "\n", encoding="utf-8")
        err.print(f"wrote {len(qs.questions)} questions to {out_path}")
    else:
        print(text)


def _print_result(r) -> None:
    from rich.table import Table

    from rich.markup import escape

    # image-to-video: the conditioning image beside the video, as the result records it (docs/scoring.md)
    image = "" if r.image is None else f"  image [bold]{escape(r.image.path)}[/bold]"
    out.print(f"[bold]{escape(r.video)}[/bold]{image}  overall [bold]{r.overall:.3f}[/bold]  ({r.mode}, {r.model})",
              highlight=False)
    dims = Table("dimension", "score", "questions")
    for k, v in r.dimensions.items():
        n = sum(q.dimension == k for q in r.questions)
        dims.add_row(k, "-" if v is None else f"{v:.3f}", str(n))
    out.print(dims)
    qt = Table("dimension", "question", "good", "answer", "p_yes", "score", "reason", show_lines=False)
    for q in r.lost_points():
        qt.add_row(q.dimension, q.question, q.good_answer, q.answer + (" (forced)" if q.forced_answer else ""),
                   f"{q.p_yes:.3f}", f"{q.score:.3f}", q.reason or "")
    out.print(qt)


def _end_batch(summary, out_path: Path, how: str = "") -> None:
    """The summary line, then exit 1 when any item is not in the results with scores (every result is kept)."""
    err.print(summary.report(out_path, how), highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(0 if summary.ok else 1)


def _answerer_options(device: str | None, dtype: str | None, naive: bool, max_new_tokens: int | None,
                      pairs: list[str], base_url: str | None = None, api_key: str | None = None,
                      concurrency: int | None = None, video_as: str | None = None) -> dict:
    """Backend options given on the command line: only those set, so that any backend accepts the defaults."""
    given = dict(device=device, dtype=dtype, max_new_tokens=max_new_tokens, base_url=base_url, api_key=api_key,
                 concurrency=concurrency, video_as=video_as)
    options = {k: v for k, v in given.items() if v is not None}
    if naive:
        options["shared_prefix"] = False
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--answerer-option {pair!r}: write KEY=VALUE")
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            options[key.strip()] = value  # a plain string
    return options


def _score_manifest(config, manifest: Path, out_path: Path, questions_dir: Path | None, retry_failed: bool,
                    workers: int, ray_address: str | None, gpus_per_worker: float | None, videos_at_once: int = 1) -> None:
    """A batch in this process, or on Ray workers; ends with the summary line and its exit code."""
    say = lambda m: err.print(m, highlight=False, markup=False)  # noqa: E731
    if workers > 0:
        from fingereval.ray_batch import run_manifest_ray

        if gpus_per_worker is None:
            import torch

            gpus_per_worker = 1.0 if torch.cuda.is_available() else 0.0
        s = run_manifest_ray(config, manifest, out_path, workers=workers, gpus_per_worker=gpus_per_worker,
                             address=ray_address, questions_dir=questions_dir, retry_failed=retry_failed, on_event=say)
        _end_batch(s, out_path, f" ({workers} Ray workers)")
    from fingereval.batch import run_manifest

    s = run_manifest(config.evaluator(), manifest, out_path, questions_dir=questions_dir, retry_failed=retry_failed,
                     videos_at_once=videos_at_once, decode_ahead=config.decode_ahead,
                     decode_workers=config.decode_workers, on_event=say)
    _end_batch(s, out_path)


def _folder_manifest(folder: Path, manifest: Path | None, out_path: Path | None, prompts: Path | None,
                     from_names: bool) -> Path:
    """The manifest of a folder of videos, written beside the results so that the same command resumes."""
    from fingereval.folders import manifest_beside, write_folder_manifest

    if manifest is not None:
        fail(ValueError("give a folder of videos or --manifest, not both"))
    if out_path is None:
        fail(ValueError(f"scoring the folder {folder} needs --out results.jsonl"))
    if (prompts is None) == (not from_names):
        fail(ValueError(f"{folder} is a folder: give --prompts FILE (CSV with columns video,prompt, or JSONL) or "
                        "--prompts-from-names (files named after their prompts)"))
    try:
        written = write_folder_manifest(folder, out_path, prompts, from_names, on_warning=warn)
    except FingerEvalError as e:
        fail(e)
    err.print(f"manifest of the folder written to {manifest_beside(out_path)}; the same command resumes",
              highlight=False, markup=False)
    return written


def score(
    ctx: typer.Context,
    video: Optional[Path] = typer.Argument(None, help="a video file (mp4/webm/mov/avi/gif), or a folder of them "
                                           "with --prompts or --prompts-from-names"),
    prompt: Optional[str] = typer.Option(None, "--prompt", "-p", help="the text prompt of the video"),
    image: Optional[Path] = typer.Option(None, "--image", help="image-to-video: the image the video was generated from "
                                         "(PNG, JPEG, WebP), shown to the model before the video; in a batch, the "
                                         "manifest's or prompts file's `image` column"),
    model: str = typer.Option(DEFAULT_MODEL, "--model", "-m", help="hub id or local checkpoint folder"),
    answerer: str = typer.Option("transformers", "--answerer", "-a",
                                 help="answerer backend (`fingereval answerers` lists them; or package.module:Class)"),
    answerer_option: list[str] = typer.Option([], "--answerer-option", "-O", help="KEY=VALUE for the answerer (repeatable)"),
    questions_file: Optional[Path] = typer.Option(None, "--questions", "-q", help="questions file (else generated)"),
    reason: bool = typer.Option(False, "--reason/--no-reason", help="write <think> reasons before reading the answer"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON result"),
    manifest: Optional[Path] = typer.Option(None, help="JSONL of {video, prompt, id?, questions?, image?} for a batch"),
    prompts_file: Optional[Path] = typer.Option(None, "--prompts", help="for a folder: CSV (columns video, prompt) or "
                                                "JSONL of the prompt of each file in it; written as a manifest beside --out"),
    prompts_from_names: bool = typer.Option(False, "--prompts-from-names", help="for a folder: each file is named "
                                            "after its prompt (VBench: `<prompt>-0.mp4`)"),
    out_path: Optional[Path] = typer.Option(None, "--out", "-o", help="results JSONL for a batch (appended, resumable)"),
    questions_dir: Optional[Path] = typer.Option(None, help="folder of <id>.json question files for a batch"),
    retry_failed: bool = typer.Option(False, help="in a batch, score again the items that failed before"),
    videos_at_once: int = typer.Option(1, min=1, help="in a batch, videos scored at once from threads (for --answerer "
                                       "openai: --concurrency then bounds the requests of all of them together)"),
    decode_ahead: int = typer.Option(DEFAULT_DEPTH, min=0, help="in a batch, videos decoded ahead while the model works on one "
                                     "(on each Ray worker too; 0: decode each in line)"),
    decode_workers: int = typer.Option(DEFAULT_WORKERS, min=1, help="in a batch, threads decoding ahead"),
    workers: int = typer.Option(0, help="in a batch, score on N Ray workers, each holding the model (0: in this process)"),
    ray_address: Optional[str] = typer.Option(None, help="Ray cluster to join ('auto', or HEAD:6379); default: Ray on this machine"),
    gpus_per_worker: Optional[float] = typer.Option(None, help="GPUs per Ray worker (default: 1 if this machine has CUDA, else 0)"),
    generator: str = typer.Option("templates", "--generator", "-g", help=GEN_HELP),
    rubric: Optional[str] = typer.Option(None, "--rubric", help=RUBRIC_HELP),
    weights: Optional[Path] = typer.Option(None, help="dimension weights JSON (from fit-weights); default: the rubric's"),
    calibration: Optional[Path] = typer.Option(None, help="temperature and bias JSON (from fingereval calibrate): "
                                               "p_yes calibrated before scoring; the result records it"),
    fps: float = typer.Option(VIDEO.fps, help="frames per second sampled"),
    max_frames: int = typer.Option(VIDEO.max_frames, help="frame budget per video"),
    size: int = typer.Option(VIDEO.size, help="frames resized to SIZE x SIZE"),
    keep_aspect: bool = typer.Option(False, "--keep-aspect", help="keep the aspect ratio: sides in multiples of 28 "
                                     "within SIZE*SIZE pixels (Qwen's resize) instead of SIZE x SIZE"),
    max_questions: Optional[int] = typer.Option(None, min=1, help="cap: questions per video (an item over it fails)"),
    max_prompt_chars: Optional[int] = typer.Option(None, min=1, help="cap: characters of a prompt"),
    max_video_seconds: Optional[float] = typer.Option(None, min=0.001, help="cap: seconds of video decoded per item"),
    max_video_frames: Optional[int] = typer.Option(None, min=1, help="cap: frames decoded per item"),
    max_video_pixels: Optional[float] = typer.Option(None, min=1, help="cap: pixels decoded per item (frames x width x height)"),
    max_videos: Optional[int] = typer.Option(None, min=1, help="cap: videos in a batch, checked before it starts"),
    device: Optional[str] = typer.Option(None, help="transformers: cpu, cuda, cuda:1 (default: cuda if present)"),
    dtype: Optional[str] = typer.Option(None, help="transformers: float32, bfloat16 (default: bfloat16 on GPU)"),
    naive: bool = typer.Option(False, help="transformers: score each question from scratch (baseline; slower)"),
    max_new_tokens: Optional[int] = typer.Option(None, help="reasoning length cap in --reason mode (transformers: 128)"),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="openai: the vLLM / SGLang server, e.g. http://localhost:8000/v1"),
    api_key: Optional[str] = typer.Option(None, "--api-key", envvar="FINGEREVAL_ANSWER_API_KEY",
                                          help="openai: the server's API key"),
    concurrency: Optional[int] = typer.Option(None, "--concurrency", help="openai: requests in flight (default 8)"),
    video_as: Optional[str] = typer.Option(None, "--video-as", help="openai: send the video file (video, default) or "
                                           "its sampled frames as images (frames)"),
    llm_base_url: Optional[str] = typer.Option(None, envvar="FINGEREVAL_LLM_BASE_URL"),
    llm_model: Optional[str] = typer.Option(None, envvar="FINGEREVAL_LLM_MODEL"),
    llm_api_key: Optional[str] = typer.Option(None, envvar="FINGEREVAL_LLM_API_KEY"),
    language: Optional[str] = typer.Option(None, "--language", help=LANGUAGE_HELP),
):
    """Score one video, or a manifest of videos, with per-question answers, reasons and scores.

    A batch ends with a summary line and exits 1 when any item failed or any manifest line was bad."""
    video, manifest = _what_to_score(video, manifest, out_path, prompts_file, prompts_from_names)
    prompt = _prompt_option(prompt)
    if api_key is not None and answerer.strip().lower() != "openai" and \
            ctx.get_parameter_source("api_key").name == "ENVIRONMENT":
        api_key = None  # FINGEREVAL_ANSWER_API_KEY is for the openai answerer; other backends take no key
    try:
        from fingereval.config import ScoringConfig
        from fingereval.limits import InputLimits

        limits = InputLimits(max_questions=max_questions, max_prompt_chars=max_prompt_chars,
                             max_video_seconds=max_video_seconds, max_video_frames=max_video_frames,
                             max_video_pixels=max_video_pixels, max_videos=max_videos)
        config = ScoringConfig(
            answerer=answerer, model=model, reason=reason, generator=generator, weights=weights, calibration=calibration,
            answerer_options=_answerer_options(device, dtype, naive, max_new_tokens, answerer_option, base_url, api_key,
                                               concurrency, video_as),
            generator_options=_generator_options(generator, llm_base_url, llm_model, llm_api_key, None, language),
            fps=fps, max_frames=max_frames, size=size, keep_aspect=keep_aspect, limits=limits,
            decode_ahead=decode_ahead, decode_workers=decode_workers, rubric=rubric)
        config.video_config()  # a bad fps, frame budget or size fails here, before any model loads
        if manifest is not None:
            if image is not None:
                raise ValueError("--image goes with one video; in a batch, give each item's image in the manifest's "
                                 "(or prompts file's) `image` column")
            _check_batch(config, manifest, workers)
            _score_manifest(config, manifest, out_path, questions_dir, retry_failed, workers, ray_address,
                            gpus_per_worker, videos_at_once)
        result = _score_one(config, video, prompt, questions_file, image)
    except (FingerEvalError, ValueError) as e:
        fail(e)
    if as_json:
        print(result.to_json())
    else:
        _print_result(result)


def _what_to_score(video: Path | None, manifest: Path | None, out_path: Path | None, prompts_file: Path | None,
                   prompts_from_names: bool) -> tuple[Path | None, Path | None]:
    """(one video, a manifest): exactly one of them, a folder of videos made into a manifest beside --out."""
    if video is not None and video.is_dir():
        manifest = _folder_manifest(video, manifest, out_path, prompts_file, prompts_from_names)
        video = None
    elif prompts_file is not None or prompts_from_names:
        fail(ValueError("--prompts and --prompts-from-names go with a folder of videos (fingereval score DIR ...)"))
    if (video is None) == (manifest is None):
        fail(ValueError("give one VIDEO with --prompt, a folder with --prompts FILE, or --manifest FILE, with --out FILE"))
    if manifest is not None and out_path is None:
        fail(ValueError("--manifest needs --out results.jsonl"))
    return video, manifest


def _check_batch(config, manifest: Path, workers: int) -> None:
    """The manifest's items checked before a model loads, and their count against --max-videos."""
    from fingereval.preflight import check_manifest

    items = check_manifest(config, manifest, warn, model_here=workers == 0)
    config.limits.check_videos(items, f"manifest {manifest}")


def _score_one(config, video: Path, prompt: str | None, questions_file: Path | None, image: Path | None = None):
    """One video's result; its inputs (the conditioning image too, and the caps) checked before the model loads."""
    from fingereval.preflight import check_one_video
    from fingereval.schema import QuestionSet
    from fingereval.text import repair

    qs = QuestionSet.load(questions_file, prompt, config.rubric) if questions_file else None
    check_one_video(config, video, prompt, qs, image)
    result = config.evaluator().score(video, prompt, qs, **({} if image is None else {"image": image}))
    result.video = repair(result.video)[0]  # a file name that is not UTF-8 cannot be written as JSON text
    return result


def answerers():
    """List the answerer backends and question generators this installation has (entry points included)."""
    from fingereval.answer import ANSWERERS
    from fingereval.ask import GENERATORS

    for registry in (ANSWERERS, GENERATORS):
        out.print(f"[bold]{registry.role}s[/bold] (entry points: {registry.group})", highlight=False)
        for name, target in registry.names().items():
            out.print(f"  {name:14s} {target}", highlight=False)
