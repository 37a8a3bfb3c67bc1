"""`fingereval serve`: the HTTP scoring service (fingereval.serve) on uvicorn, the model loaded once."""
from __future__ import annotations

import ipaddress
import logging
import socket
from pathlib import Path
from typing import Optional

import typer

from fingereval.answer.base import DEFAULT_MODEL
from fingereval.cli._common import RUBRIC_HELP, VIDEO, Fps, KeepAspect, MaxFrames, Size, err, fail
from fingereval.cli.score import GEN_HELP, LANGUAGE_HELP, _answerer_options, _generator_options
from fingereval.decode_ahead import DEFAULT_DEPTH, DEFAULT_WORKERS
from fingereval.errors import FingerEvalError


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and names that resolve only to them ("localhost")."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(addresses) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses)


def serve(
    model: str = typer.Option(DEFAULT_MODEL, "--model", "-m", help="hub id or local checkpoint folder"),
    answerer: str = typer.Option("transformers", "--answerer", "-a", help="answerer backend (`fingereval answerers`)"),
    answerer_option: list[str] = typer.Option([], "--answerer-option", "-O", help="KEY=VALUE for the answerer (repeatable)"),
    host: str = typer.Option("127.0.0.1", help="address to listen on; any but loopback needs --token"),
    port: int = typer.Option(8000, min=0, max=65535, help="port to listen on"),
    token: Optional[str] = typer.Option(None, envvar="FINGEREVAL_SERVE_TOKEN",
                                        help="Bearer token every /v1/ route needs (better: FINGEREVAL_SERVE_TOKEN)"),
    max_body_mb: float = typer.Option(64.0, min=0.001, help="largest request body; a larger one gets 413"),
    allow_dir: Optional[Path] = typer.Option(None, exists=True, file_okay=False, resolve_path=True,
                                             help="folder whose videos requests may name by video_path "
                                             "(without it, videos come only as base64 bytes)"),
    max_queue: int = typer.Option(64, min=1, help="videos waiting for the model; one more gets 503 with Retry-After"),
    timeout: float = typer.Option(300.0, min=0.001, help="seconds a request may wait for its result; then 504"),
    max_batch: int = typer.Option(8, min=1, help="waiting videos the model worker takes at once"),
    videos_at_once: int = typer.Option(1, min=1, help="of those, videos scored together from threads "
                                       "(for --answerer openai, which waits on a server)"),
    decode_ahead: int = typer.Option(DEFAULT_DEPTH, min=0, help="videos decoded while the model works on one (0: in line)"),
    decode_workers: int = typer.Option(DEFAULT_WORKERS, min=1, help="threads decoding ahead"),
    max_items: int = typer.Option(64, min=1, help="items in one /v1/score_batch request (at most --max-queue)"),
    max_questions: int = typer.Option(64, min=1, help="questions per video, given or generated; more gets 422"),
    max_prompt_chars: int = typer.Option(4000, min=1, help="characters of a prompt; a longer one gets 422"),
    max_video_seconds: float = typer.Option(600.0, min=0.001, help="seconds of video decoded per item; more gets 422"),
    max_video_frames: int = typer.Option(18000, min=1, help="frames decoded per item; more gets 422"),
    max_video_pixels: float = typer.Option(4e10, min=1, help="pixels decoded per item (frames x width x height; "
                                           "4e10: 10 minutes of 1080p at 30 fps); more gets 422"),
    header_timeout: float = typer.Option(10.0, min=0.001, help="seconds for a request's headers to arrive; then 408"),
    body_timeout: float = typer.Option(120.0, min=0.001, help="seconds for a request's whole body to arrive; then 408"),
    max_connections: int = typer.Option(64, min=1, help="connections open at once; one more gets 503"),
    reason: bool = typer.Option(False, "--reason/--no-reason", help="default for requests: write <think> reasons first"),
    generator: str = typer.Option("templates", "--generator", "-g", help=GEN_HELP),
    rubric: Optional[str] = typer.Option(None, "--rubric", help=RUBRIC_HELP + "; one rubric for the whole service"),
    weights: Optional[Path] = typer.Option(None, help="dimension weights JSON (from fit-weights); default: the rubric's"),
    calibration: Optional[Path] = typer.Option(None, help="temperature and bias JSON (from fingereval calibrate)"),
    fps: Fps = VIDEO.fps,
    max_frames: MaxFrames = VIDEO.max_frames,
    size: Size = VIDEO.size,
    keep_aspect: KeepAspect = False,
    device: Optional[str] = typer.Option(None, help="transformers: cpu, cuda, cuda:1 (default: cuda if present)"),
    dtype: Optional[str] = typer.Option(None, help="transformers: float32, bfloat16 (default: bfloat16 on GPU)"),
    naive: bool = typer.Option(False, help="transformers: score each question from scratch (baseline; slower)"),
    max_new_tokens: Optional[int] = typer.Option(None, help="reasoning length cap in --reason mode"),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="openai: the vLLM / SGLang server"),
    api_key: Optional[str] = typer.Option(None, "--api-key", envvar="FINGEREVAL_ANSWER_API_KEY", help="openai: its API key"),
    concurrency: Optional[int] = typer.Option(None, "--concurrency", help="openai: requests in flight (default 8)"),
    llm_base_url: Optional[str] = typer.Option(None, envvar="FINGEREVAL_LLM_BASE_URL"),
    llm_model: Optional[str] = typer.Option(None, envvar="FINGEREVAL_LLM_MODEL"),
    llm_api_key: Optional[str] = typer.Option(None, envvar="FINGEREVAL_LLM_API_KEY"),
    language: Optional[str] = typer.Option(None, "--language", help=LANGUAGE_HELP),
    log_level: str = typer.Option("info", help="uvicorn and request log level"),
    log_format: str = typer.Option("text", help="log lines as text (client text escaped) or json (one object a line)"),
):
    """Serve scores over HTTP (OpenAPI docs at /docs): POST /v1/score answers what `score --json` prints."""
    from fingereval.config import ScoringConfig
    from fingereval.preflight import check_config_files, check_model_files

    if not token and not is_loopback(host):
        fail(ValueError(f"--host {host} is not a loopback address: give --token (or FINGEREVAL_SERVE_TOKEN) so "
                        "that only your clients can score"))
    if api_key is not None and answerer.strip().lower() != "openai":
        api_key = None  # FINGEREVAL_ANSWER_API_KEY is for the openai answerer; other backends take no key
    try:
        from fingereval.serve import ServeSettings, create_app

        settings = ServeSettings(token=token or None, max_body_mb=max_body_mb, allow_dir=allow_dir, max_queue=max_queue,
                                 timeout=timeout, max_batch=max_batch, videos_at_once=videos_at_once,
                                 decode_ahead=decode_ahead, decode_workers=decode_workers,
                                 max_items=max_items, max_questions=max_questions, max_prompt_chars=max_prompt_chars,
                                 max_video_seconds=max_video_seconds, max_video_frames=max_video_frames,
                                 max_video_pixels=max_video_pixels, header_timeout=header_timeout, body_timeout=body_timeout,
                                 max_connections=max_connections)
        _check_log_options(log_level, log_format)
        config = ScoringConfig(
            answerer=answerer, model=model, reason=reason, generator=generator, weights=weights, calibration=calibration,
            answerer_options=_answerer_options(device, dtype, naive, max_new_tokens, answerer_option, base_url, api_key,
                                               concurrency),
            generator_options=_generator_options(generator, llm_base_url, llm_model, llm_api_key, None, language),
            fps=fps, max_frames=max_frames, size=size, keep_aspect=keep_aspect, rubric=rubric)
        config.video_config()  # a bad fps, frame budget or size fails here, before any model loads
        check_config_files(config)
        check_model_files(config)
        evaluator = config.evaluator()
    except (FingerEvalError, ValueError) as e:
        fail(e)
    _run(create_app(evaluator, settings), settings, host, port, log_level, log_format)


def _check_log_options(log_level: str, log_format: str) -> None:
    if log_level.upper() not in logging.getLevelNamesMapping():
        raise ValueError(f"--log-level {log_level!r}: give debug, info, warning or error")
    if log_format not in ("text", "json"):
        raise ValueError(f"--log-format {log_format!r}: give text or json")


def _run(app, settings, host: str, port: int, log_level: str, log_format: str) -> None:
    from fingereval.serve import server_config
    from fingereval.web import configure_logging, run_server

    configure_logging(log_level, log_format)  # uvicorn's loggers too: its config is left out (log_config None)
    err.print(f"serving {app.title} on http://{host}:{port} (docs at /docs)", highlight=False, markup=False)
    # the app logs one line per request itself (fingereval.serve), so uvicorn's access log is off
    if not run_server(server_config(app, settings, host, port, log_level=log_level.lower(), access_log=False)):
        raise typer.Exit(3)  # uvicorn's startup failure (the port taken, ...), already logged
