"""The routes: GET /health, POST /v1/score, POST /v1/score_batch, and how a request waits for its jobs.

A request's jobs are made (questions, the upload written, every check that needs no model) in a thread, queued,
and waited for until they are done, the --timeout passes (504) or the client leaves; in the last two cases
every job of the request is abandoned, so none of them reaches the model afterwards.

No `from __future__ import annotations` here: FastAPI reads the routes' annotations, one of them a local class.
"""
import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from fingereval.errors import FingerEvalError
from fingereval.rubric import default_rubric
from fingereval.schema import ErrorInfo, VideoResult
from fingereval.serve.inputs import DEFAULT_UPLOAD_NAME, JobMaker, ServiceError, error_status
from fingereval.serve.models import BatchResponse, ErrorResponse, HealthResponse, ScoreRequest, ServeSettings, batch_request
from fingereval.serve.worker import Abandoned, Job, ModelWorker, QueueFull
from fingereval.text import repair
from fingereval.web import UNAUTHORIZED, bearer_token, log_text, token_matches

log = logging.getLogger("fingereval.serve")

_ERRORS = {
    400: "the body is not valid JSON",
    401: "no token, or the wrong one: send `Authorization: Bearer TOKEN`",
    403: "video_path is outside the service's --allow-dir (or the service reads no files)",
    408: "the headers or the body did not arrive in time (--header-timeout, --body-timeout)",
    413: "the body is over --max-body-mb",
    422: "the request does not fit the schema, its video is not a readable video container, its questions are bad, "
         "or it is over a cap (LimitExceeded: --max-questions, --max-prompt-chars, --max-video-seconds, "
         "--max-video-frames, --max-items, --max-queue)",
    503: "the queue is full, or the server holds --max-connections: retry after the Retry-After header's seconds",
    504: "the result took longer than --timeout",
}
ERROR_RESPONSES = {status: {"model": ErrorResponse, "description": text} for status, text in _ERRORS.items()}


class ClientGone(Exception):
    """The client closed the connection while its request waited: nobody is left to answer."""


@dataclass
class Service:
    evaluator: object
    settings: ServeSettings
    maker: JobMaker
    worker: ModelWorker


def routes(service: Service) -> APIRouter:
    settings, maker, worker = service.settings, service.maker, service.worker
    router = APIRouter()
    auth = [Depends(_token_check(settings.token))]
    BatchRequest = batch_request(settings.max_items)  # noqa: N806  (the request model, with this service's limit)

    @router.get("/health", response_model=HealthResponse)
    async def health() -> HealthResponse:
        """Liveness and load: no token needed."""
        return HealthResponse(status="ok", model=service.evaluator.model_id, queued=worker.waiting, busy=worker.busy)

    @router.get("/v1/rubric", dependencies=auth, responses=ERROR_RESPONSES)
    async def rubric() -> dict:
        """The rubric this service scores with (one per service: `fingereval serve --rubric`): its dimensions,
        weights and templates, and the sha256 every result records with its name (docs/rubric.md)."""
        used = getattr(service.evaluator, "rubric", None) or default_rubric()
        return {**used.model_dump(mode="json"), "sha256": used.sha256}

    @router.post("/v1/score", response_model=None, dependencies=auth, responses={
        200: {"model": VideoResult, "description": "the result `fingereval score --json` prints"}, **ERROR_RESPONSES})
    async def score(body: ScoreRequest, request: Request) -> Response:
        """Score one video: the same JSON, and the same numbers, as `fingereval score --json`."""
        deadline = time.monotonic() + settings.timeout
        try:
            job = await run_in_threadpool(maker.make, body)
        except FingerEvalError as e:  # bad base64, bad questions, a cap, not a video (403s are ServiceErrors)
            raise ServiceError(*error_status(e), _message(e, body.video_path or body.video_name or "upload")) from None
        _submit(worker, [job])
        await _wait([job], request, deadline)
        outcome = _outcome(job)
        if outcome is None:
            raise ServiceError(504, "Timeout", _timeout_message(settings.timeout))
        if isinstance(outcome, Exception):
            status, kind = error_status(outcome)
            raise ServiceError(status, kind, _message(outcome, job.name, job.video))
        return Response(outcome.to_json(), media_type="application/json")

    @router.post("/v1/score_batch", response_model=BatchResponse, dependencies=auth, responses=ERROR_RESPONSES)
    async def score_batch(body: BatchRequest, request: Request) -> Response:
        """Score several videos; a failed item (a bad video, a path outside the allow-dir, no result within the
        timeout) gets an error object in its place and the others are scored."""
        deadline = time.monotonic() + settings.timeout
        _fits_the_queue(len(body.items), settings.max_queue)
        prepared: list[Job | Exception] = []
        for item in body.items:
            try:
                prepared.append(await run_in_threadpool(maker.make, item))
            except Exception as e:  # this item's error object; the others go on
                prepared.append(e)
        jobs = [p for p in prepared if isinstance(p, Job)]
        _submit(worker, jobs)
        await _wait(jobs, request, deadline)
        model = service.evaluator.model_id
        records = [_batch_record(item, p, model, settings.timeout) for item, p in zip(body.items, prepared)]
        return Response('{"results":[' + ",".join(records) + "]}", media_type="application/json")

    return router


def _fits_the_queue(items: int, max_queue: int) -> None:
    """A batch is admitted whole, so one larger than the queue could never be: 422, not a 503 to retry for ever."""
    if items > max_queue:
        raise ServiceError(422, "LimitExceeded", f"the batch has {items} videos and can never fit the service's queue "
                           f"of {max_queue} (--max-queue); send at most {max_queue} items per request")


def _submit(worker: ModelWorker, jobs: list[Job]) -> None:
    try:
        worker.submit(jobs)
    except QueueFull as e:
        for job in jobs:
            job.abandon()  # never queued: its upload is removed now
        raise ServiceError(503, "QueueFull", str(e), headers={"Retry-After": str(e.retry_after)}) from None


async def _wait(jobs: list[Job], request: Request, deadline: float) -> None:
    """Until every job is done, the deadline passes, or the client leaves; then what is not done is abandoned
    (a waiting job leaves the queue at once, a running one stops at the worker's next check)."""
    pending = {asyncio.wrap_future(job.future) for job in jobs}
    for waiter in pending:  # the outcome is read off job.future; this copy's exception is not an unread error
        waiter.add_done_callback(lambda w: w.cancelled() or w.exception())
    try:
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            _, pending = await asyncio.wait(pending, timeout=min(left, 0.5))
            if pending and await request.is_disconnected():
                raise ClientGone()
    finally:
        for job in jobs:
            if not job.future.done():
                job.abandon()


def _outcome(job: Job) -> VideoResult | Exception | None:
    """The job's result, its failure, or None when it did not finish in time (or was abandoned for that)."""
    if not job.future.done() or job.future.cancelled():
        return None
    failure = job.future.exception()
    if isinstance(failure, Abandoned):
        return None
    return failure or job.future.result()


def _timeout_message(timeout: float) -> str:
    return f"no result within the service's timeout of {timeout:g} s; retry later, or ask for a longer --timeout"


def _message(failure: Exception, name: str, temp: Path | None = None) -> str:
    """The failure's one line, naming the video as the client did (an upload's temp file means nothing to it)."""
    if error_status(failure)[0] >= 500:
        log.error("scoring %s failed", log_text(name), exc_info=failure)
        return f"the service failed on {name} ({type(failure).__name__}); the service log has the details"
    return str(failure) if temp is None else str(failure).replace(str(temp), name)


def _batch_record(item: ScoreRequest, prepared: Job | Exception, model: str, timeout: float) -> str:
    """One item's result JSON, or its error record (id, video, prompt, model, error) as a batch writes it."""
    if isinstance(prepared, Job):
        outcome, name = _outcome(prepared), prepared.name
        if isinstance(outcome, VideoResult):
            return outcome.to_json()
        if outcome is None:
            kind, message = "Timeout", _timeout_message(timeout)
        else:
            kind, message = error_status(outcome)[1], _message(outcome, name, prepared.video)
    else:
        name = item.video_path or item.video_name or DEFAULT_UPLOAD_NAME
        kind, message = error_status(prepared)[1], _message(prepared, name)
    return VideoResult(id=None if item.id is None else repair(item.id)[0], video=repair(name)[0],
                       prompt=repair(item.prompt)[0], model=model, error=ErrorInfo(type=kind, message=message)).to_json()


def _token_check(token: str | None):
    """The route's own check, for the OpenAPI schema (the header-level gate, web.TokenGate, answers first)."""
    bearer = HTTPBearer(auto_error=False, description="the service's --token")

    async def check(request: Request, _: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if token is not None and not token_matches(bearer_token(request.scope["headers"]), token):
            raise ServiceError(401, "Unauthorized", UNAUTHORIZED, headers={"WWW-Authenticate": "Bearer"})
    return check
