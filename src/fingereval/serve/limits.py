"""The body limit, as ASGI middleware: a body over the limit is refused with 413 before it is read whole.

Written here rather than FastAPI's `max_body_size` because that one answers a too-large Content-Length with
its own plain-text body, and every error of this service is {"error": {"type", "message"}}.
"""
from __future__ import annotations

import hmac
import json

from starlette.exceptions import HTTPException


class BodyTooLarge(HTTPException):
    """Raised from receive() as the bytes stream in; FastAPI passes an HTTPException on to the handlers."""

    def __init__(self, limit_mb: float):
        super().__init__(413, f"the body is over the service's limit of {limit_mb:g} MB; send a smaller video")


class BodyLimit:
    def __init__(self, app, max_bytes: int, limit_mb: float):
        self.app, self.max_bytes, self.limit_mb = app, max_bytes, limit_mb

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:  # refused on the headers: not a byte of it is read
            return await self._refuse(send)
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:  # chunked, or more bytes than announced
                    raise BodyTooLarge(self.limit_mb)
            return message

        await self.app(scope, counted, send)

    async def _refuse(self, send) -> None:
        message = str(BodyTooLarge(self.limit_mb).detail)
        body = json.dumps({"error": {"type": "PayloadTooLarge", "message": message}}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


def _content_length(scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class TokenGate:
    """The token, checked on the headers of every /v1/ request before its body is read (FastAPI reads a body
    before the route's dependencies run), so that a client without the token cannot make the service read
    --max-body-mb; the route's own check stays, for the OpenAPI schema."""

    def __init__(self, app, token: str | None):
        self.app = app
        self.expected = None if token is None else token.encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or self.expected is None or not scope["path"].startswith("/v1/"):
            return await self.app(scope, receive, send)
        header = next((value for key, value in scope.get("headers", []) if key == b"authorization"), b"")
        scheme, _, given = header.partition(b" ")
        if scheme.lower() == b"bearer" and hmac.compare_digest(given.strip(), self.expected):  # constant time
            return await self.app(scope, receive, send)
        body = json.dumps({"error": {"type": "Unauthorized", "message": "send the service's token as "
                                                                        "`Authorization: Bearer TOKEN`"}}).encode()
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"www-authenticate", b"Bearer"), (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
