"""The FastAPI app: routes, the token check, the limits and the one error shape.

    from fingereval.config import ScoringConfig
    from fingereval.serve import ServeSettings, create_app
    app = create_app(ScoringConfig(model="...").evaluator(), ServeSettings(allow_dir="videos"))
    # uvicorn.run(app, host="127.0.0.1", port=8000)
"""

import asyncio
import hmac
import logging
import shutil
import tempfile
import time
import uuid
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from fingereval.errors import FingerEvalError
from fingereval.schema import ErrorInfo, VideoResult
from fingereval.text import repair
from fingereval.serve.limits import BodyLimit, TokenGate
from fingereval.serve.inputs import DEFAULT_UPLOAD_NAME, JobMaker, ServiceError, error_status
from fingereval.serve.models import BatchResponse, ErrorResponse, HealthResponse, ScoreRequest, ServeSettings, batch_request
from fingereval.serve.worker import Job, ModelWorker, QueueFull

log = logging.getLogger("fingereval.serve")

_ERRORS = {
    400: "the body is not valid JSON",
    401: "no token, or the wrong one: send `Authorization: Bearer TOKEN`",
    403: "video_path is outside the service's --allow-dir (or the service reads no files)",
    413: "the body is over --max-body-mb",
    422: "the request does not fit the schema, or its video cannot be decoded, or its questions are bad",
    503: "the queue is full: retry after the Retry-After header's seconds",
    504: "the result took longer than --timeout",
}
ERROR_RESPONSES = {status: {"model": ErrorResponse, "description": text} for status, text in _ERRORS.items()}
_BAD_JSON = "the body is not valid JSON; send one JSON object (UTF-8)"
_HTTP_KINDS = {401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
               413: "PayloadTooLarge", 415: "UnsupportedMediaType"}


def error_response(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status, headers=headers)


class ClientGone(Exception):
    """The client closed the connection while its request waited: nobody is left to answer."""


def create_app(evaluator, settings: ServeSettings | None = None) -> FastAPI:
    """The service around a loaded Evaluator (ScoringConfig.evaluator()); the worker starts with the app."""
    settings = settings or ServeSettings()
    own_temp = settings.temp_dir is None
    maker = JobMaker(evaluator, settings.allow_dir, settings.temp_dir)
    worker = ModelWorker(evaluator, max_queue=settings.max_queue, max_batch=settings.max_batch,
                         videos_at_once=settings.videos_at_once)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        # uploads live in a folder of the service's own (made here, removed at shutdown) unless one is given
        maker.temp_dir = Path(tempfile.mkdtemp(prefix="fingereval-serve-")) if own_temp else settings.temp_dir
        maker.temp_dir.mkdir(parents=True, exist_ok=True)
        worker.start()
        yield
        await run_in_threadpool(worker.stop)
        if own_temp:
            shutil.rmtree(maker.temp_dir, ignore_errors=True)

    app = FastAPI(title="fingereval", summary="Fine-grained, explainable scores of generated videos (FingER).",
                  lifespan=lifespan)
    app.state.worker, app.state.settings = worker, settings
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, limit_mb=settings.max_body_mb)
    app.add_middleware(TokenGate, token=settings.token)  # outside the body limit: no token, no body read
    app.add_middleware(RequestLog)  # added last: outermost, so it logs the body limit's answers too
    _handlers(app)
    auth = _token_check(settings.token)
    BatchRequest = batch_request(settings.max_items)  # noqa: N806  (the request model, with this service's limit)

    @app.get("/health", response_model=HealthResponse)
    async def health() -> HealthResponse:
        """Liveness and load: no token needed."""
        return HealthResponse(status="ok", model=evaluator.model_id, queued=worker.waiting, busy=worker.busy)

    @app.post("/v1/score", response_model=None, dependencies=[Depends(auth)],
              responses={200: {"model": VideoResult, "description": "the result `fingereval score --json` prints"},
                         **ERROR_RESPONSES})
    async def score(body: ScoreRequest, request: Request) -> Response:
        """Score one video: the same JSON, and the same numbers, as `fingereval score --json`."""
        deadline = time.monotonic() + settings.timeout
        try:
            job = await run_in_threadpool(maker.make, body)
        except FingerEvalError as e:  # bad base64, bad questions (a path outside the allow-dir is a ServiceError)
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

    @app.post("/v1/score_batch", response_model=BatchResponse, dependencies=[Depends(auth)],
              responses=ERROR_RESPONSES)
    async def score_batch(body: BatchRequest, request: Request) -> Response:
        """Score several videos; a failed item (a bad video, a path outside the allow-dir, no result within the
        timeout) gets an error object in its place and the others are scored."""
        deadline = time.monotonic() + settings.timeout
        prepared: list[Job | Exception] = []
        for item in body.items:
            try:
                prepared.append(await run_in_threadpool(maker.make, item))
            except Exception as e:  # this item's error object; the others go on
                prepared.append(e)
        jobs = [p for p in prepared if isinstance(p, Job)]
        _submit(worker, jobs)
        await _wait(jobs, request, deadline)
        records = [_batch_record(item, p, evaluator.model_id, settings.timeout) for item, p in zip(body.items, prepared)]
        return Response('{"results":[' + ",".join(records) + "]}", media_type="application/json")

    return app


def _submit(worker: ModelWorker, jobs: list[Job]) -> None:
    try:
        worker.submit(jobs)
    except QueueFull as e:
        for job in jobs:
            job.future.cancel()  # never queued: its upload is removed now
        raise ServiceError(503, "QueueFull", str(e), headers={"Retry-After": str(e.retry_after)}) from None


async def _wait(jobs: list[Job], request: Request, deadline: float) -> None:
    """Until every job is done, the deadline passes (waiting jobs are cancelled), or the client leaves."""
    pending = {asyncio.wrap_future(job.future) for job in jobs}
    for waiter in pending:  # the outcome is read off job.future; this copy's exception is not an unread error
        waiter.add_done_callback(lambda w: w.cancelled() or w.exception())
    while pending:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        _, pending = await asyncio.wait(pending, timeout=min(left, 0.5))
        if pending and await request.is_disconnected():
            for job in jobs:
                job.future.cancel()  # a job already on the model finishes; one still waiting is skipped
            raise ClientGone()
    for job in jobs:
        job.future.cancel()  # a no-op on finished ones; a running one finishes and is dropped


def _outcome(job: Job) -> VideoResult | Exception | None:
    """The job's result, its failure, or None when it did not finish in time."""
    if not job.future.done() or job.future.cancelled():
        return None
    return job.future.exception() or job.future.result()


def _timeout_message(timeout: float) -> str:
    return f"no result within the service's timeout of {timeout:g} s; retry later, or ask for a longer --timeout"


def _message(failure: Exception, name: str, temp: Path | None = None) -> str:
    """The failure's one line, naming the video as the client did (an upload's temp file means nothing to it)."""
    if error_status(failure)[0] >= 500:
        log.error("scoring %s failed", name, exc_info=failure)
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
    return VideoResult(id=None if item.id is None else repair(item.id)[0], video=repair(name)[0], prompt=repair(item.prompt)[0], model=model,
                       error=ErrorInfo(type=kind, message=message)).to_json()


def _token_check(token: str | None):
    bearer = HTTPBearer(auto_error=False, description="the service's --token")
    expected = token.encode() if token is not None else None

    async def check(credentials: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        if expected is None:
            return
        given = credentials.credentials.encode() if credentials is not None else b""
        if not hmac.compare_digest(given, expected):  # constant time: the token does not leak by timing
            raise ServiceError(401, "Unauthorized", "send the service's token as `Authorization: Bearer TOKEN`",
                               headers={"WWW-Authenticate": "Bearer"})
    return check


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def service_error(_: Request, e: ServiceError) -> JSONResponse:
        return error_response(e.status, e.kind, str(e), e.headers)

    @app.exception_handler(ClientGone)
    async def client_gone(_: Request, __: ClientGone) -> Response:
        return Response(status_code=499)  # nobody reads it; the log line says what happened

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, e: RequestValidationError) -> JSONResponse:
        errors = e.errors()
        if any(err.get("type") == "json_invalid" for err in errors):
            return error_response(400, "BadJSON", _BAD_JSON)
        parts = []
        for err in errors[:3]:
            where = ".".join(str(x) for x in err.get("loc", ())[1:])  # without the leading "body"
            msg = str(err.get("msg", "")).removeprefix("Value error, ")
            parts.append(f"{where}: {msg}" if where else msg)
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        return error_response(422, "InvalidRequest", "; ".join(parts) + more)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, e: StarletteHTTPException) -> JSONResponse:
        if e.status_code == 400:  # FastAPI's "error parsing the body": bytes that are not UTF-8 text
            return error_response(400, "BadJSON", _BAD_JSON)
        return error_response(e.status_code, _HTTP_KINDS.get(e.status_code, "HTTPError"), str(e.detail), e.headers)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, e: Exception) -> JSONResponse:
        log.error("unexpected error", exc_info=e)
        return error_response(500, "InternalError", "the service failed on this request; the service log has the details")


class RequestLog:
    """One log line per request: its id, method, path, status and milliseconds (the id also goes back in
    X-Request-ID). Pure ASGI, so it sees the status of every answer, the body limit's and the handlers' alike."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        rid = _request_id(scope)
        started, status = time.perf_counter(), 500

        async def send_logged(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_logged)
        finally:
            ms = (time.perf_counter() - started) * 1000
            log.info("request %s %s %s %d %.1f ms", rid, scope["method"], scope["path"], status, ms)


def _request_id(scope) -> str:
    for key, value in scope.get("headers", []):
        if key == b"x-request-id":
            given = value.decode("latin-1")
            if 0 < len(given) <= 64 and all(c.isalnum() or c in "-_." for c in given):
                return given
    return uuid.uuid4().hex[:12]
