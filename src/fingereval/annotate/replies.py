"""The app's one error shape, `{"error": {"type", "message"}}` (the scoring service's, fingereval.web), and its
handlers.

Every error message goes through `Scrub`, which turns the app's own folders (the data file's, the
database's) into relative names: no absolute path of the host reaches a client.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from fingereval import web

log = logging.getLogger("fingereval.annotate")

KINDS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
         408: "RequestTimeout", 413: "PayloadTooLarge", 415: "UnsupportedMediaType", 416: "RangeNotSatisfiable",
         422: "InvalidRequest", 429: "TooManyAttempts"}


class ErrorInfo(BaseModel):
    type: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorInfo


class ApiError(Exception):
    """An answer other than 2xx, raised from a route: status, kind, a one-line message, extra headers."""

    def __init__(self, status: int, message: str, kind: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.kind, self.headers = status, kind or KINDS.get(status, "HTTPError"), headers


def documented(*statuses: int) -> dict[int | str, dict]:
    """OpenAPI `responses` for these error statuses, all in the one shape."""
    return {status: {"model": ErrorBody, "description": KINDS.get(status, "error")} for status in statuses}


class Scrub:
    """Turns the given folders, wherever they appear in a message, into paths relative to the first one."""

    def __init__(self, folders: Iterable[Path]):
        self.folders = [str(f.absolute()) for f in folders]

    def __call__(self, message: str) -> str:
        for folder in sorted(set(self.folders), key=len, reverse=True):  # the deepest folder first
            message = message.replace(folder + os.sep, "").replace(folder, ".")
        return message


def error_response(status: int, kind: str, message: str, headers: dict[str, str] | None = None,
                   scrub: Scrub | None = None) -> JSONResponse:
    return web.error_response(status, kind, scrub(message) if scrub else message, headers)


def install_handlers(app: FastAPI, scrub: Scrub) -> None:
    """Every error, FastAPI's and Starlette's included, in the one shape; never a traceback."""

    @app.exception_handler(ApiError)
    async def api_error(_: Request, e: ApiError) -> JSONResponse:
        return error_response(e.status, e.kind, str(e), e.headers, scrub)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, e: RequestValidationError) -> JSONResponse:
        return error_response(*web.invalid_request(e.errors()), scrub=scrub)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, e: StarletteHTTPException) -> JSONResponse:
        if e.status_code == 400:  # FastAPI's "error parsing the body": bytes that are not UTF-8 JSON
            return error_response(400, "BadJSON", web.BAD_JSON)
        return error_response(e.status_code, KINDS.get(e.status_code, "HTTPError"), str(e.detail), e.headers, scrub)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, e: Exception) -> JSONResponse:
        log.error("unexpected error", exc_info=e)
        return error_response(500, "InternalError", "the app failed on this request; its log has the details")


__all__ = ["ApiError", "ErrorBody", "Scrub", "documented", "error_response", "install_handlers"]
