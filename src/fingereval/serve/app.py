"""The FastAPI app: the routes (serve/routes.py), the gates in front of them, and the one error shape.

    from fingereval.config import ScoringConfig
    from fingereval.serve import ServeSettings, create_app, server_config
    settings = ServeSettings(allow_dir="videos")
    app = create_app(ScoringConfig(model="...").evaluator(), settings)
    # uvicorn.Server(server_config(app, settings, "127.0.0.1", 8000)).run()
"""
from __future__ import annotations

import logging
import shutil
import tempfile
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from fingereval.serve.inputs import JobMaker, ServiceError
from fingereval.serve.models import ServeSettings
from fingereval.serve.routes import ClientGone, Service, routes
from fingereval.serve.worker import ModelWorker
from fingereval.web import (BAD_JSON, BodyDeadline, BodyLimit, RequestLog, TokenGate, error_response, invalid_request,
                            log_text, server_config as web_server_config)

log = logging.getLogger("fingereval.serve")

_HTTP_KINDS = {401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed", 408: "RequestTimeout",
               413: "PayloadTooLarge", 415: "UnsupportedMediaType"}


def create_app(evaluator, settings: ServeSettings | None = None) -> FastAPI:
    """The service around a loaded Evaluator (ScoringConfig.evaluator()); the worker starts with the app."""
    settings = settings or ServeSettings()
    limits = settings.input_limits()
    service = Service(evaluator, settings, JobMaker(evaluator, settings.allow_dir, settings.temp_dir, limits),
                      ModelWorker(evaluator, max_queue=settings.max_queue, max_batch=settings.max_batch,
                                  videos_at_once=settings.videos_at_once, limits=limits,
                                  decode_ahead=settings.decode_ahead, decode_workers=settings.decode_workers))
    app = FastAPI(title="fingereval", summary="Fine-grained, explainable scores of generated videos (FingER).",
                  lifespan=_lifespan(service))
    app.state.worker, app.state.settings = service.worker, settings
    _gates(app, settings)
    _handlers(app)
    app.include_router(routes(service))
    _document_rubric(app, getattr(evaluator, "rubric", None))
    return app


def _document_rubric(app: FastAPI, rubric) -> None:
    """The OpenAPI schema names this service's dimensions (its rubric's keys), not the default's five."""
    from fingereval.dimensions import DIMENSION_KEYS

    if rubric is None or rubric.keys == DIMENSION_KEYS:
        return
    build = app.openapi

    def replace_enum(node):
        if isinstance(node, dict):
            if node.get("enum") == list(DIMENSION_KEYS):
                node["enum"] = list(rubric.keys)
            for value in node.values():
                replace_enum(value)
        elif isinstance(node, list):
            for value in node:
                replace_enum(value)

    def openapi() -> dict:
        if app.openapi_schema is None:
            replace_enum(build())  # FastAPI caches the schema it built in app.openapi_schema
        return app.openapi_schema

    app.openapi = openapi


def server_config(app, settings: ServeSettings, host: str, port: int, **options):
    """The uvicorn configuration the service runs with: header deadline, connection cap, lingering close."""
    return web_server_config(app, host, port, settings.connection_limits(), **options)


def _lifespan(service: Service):
    @asynccontextmanager
    async def lifespan(_: FastAPI):
        # uploads live in a folder of the service's own (made here, removed at shutdown) unless one is given
        own_temp = service.settings.temp_dir is None
        temp = Path(tempfile.mkdtemp(prefix="fingereval-serve-")) if own_temp else service.settings.temp_dir
        temp.mkdir(parents=True, exist_ok=True)
        service.maker.temp_dir = temp
        service.worker.start()
        yield
        await run_in_threadpool(service.worker.stop)
        if own_temp:
            shutil.rmtree(temp, ignore_errors=True)
    return lifespan


def _gates(app: FastAPI, settings: ServeSettings) -> None:
    """Pure ASGI, on the headers, each added outside the one before: the request log sees every answer, the token
    is checked before the body limit, and neither reads a byte of a body."""
    app.add_middleware(BodyDeadline, seconds=settings.body_timeout)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, limit_mb=settings.max_body_mb)
    app.add_middleware(TokenGate, token=settings.token, protects=lambda path: path.startswith("/v1/"))
    app.add_middleware(RequestLog, logger=log)


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def service_error(_: Request, e: ServiceError) -> JSONResponse:
        return error_response(e.status, e.kind, str(e), e.headers)

    @app.exception_handler(ClientGone)
    async def client_gone(_: Request, __: ClientGone) -> Response:
        return Response(status_code=499)  # nobody reads it; the log line says what happened

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, e: RequestValidationError) -> JSONResponse:
        return error_response(*invalid_request(e.errors()))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, e: StarletteHTTPException) -> JSONResponse:
        if e.status_code == 400:  # FastAPI's "error parsing the body": bytes that are not UTF-8 text
            return error_response(400, "BadJSON", BAD_JSON)
        return error_response(e.status_code, _HTTP_KINDS.get(e.status_code, "HTTPError"), str(e.detail), e.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, e: Exception) -> JSONResponse:
        log.error("unexpected error on %s", log_text(request.url.path), exc_info=e)
        return error_response(500, "InternalError", "the service failed on this request; the service log has the details")
