"""The HTTP pieces the scoring service and the annotation app share (no model code).

- the one error body, `{"error": {"type", "message"}}`, as bytes, a JSONResponse or a raw ASGI answer;
- the bearer token, read from the headers and compared in constant time;
- gates that answer on the headers alone, before a byte of the body is read (pure ASGI): the token
  (TokenGate), the body size (BodyLimit), and a deadline for the body to arrive (BodyDeadline);
- client text made safe for a log line (log_text), one line per request (RequestLog), a JSON log format;
- the connection rules uvicorn itself lacks (a deadline for the headers, a cap on connections answered in the
  error shape, a bounded lingering read after an early answer): guarded_protocol / server_config.
"""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse

CLOSE = (b"connection", b"close")


# ---- the error body --------------------------------------------------------------------------------------------

def error_bytes(kind: str, message: str) -> bytes:
    return json.dumps({"error": {"type": kind, "message": message}}).encode()


def error_response(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status, headers=headers)


BAD_JSON = "the body is not valid JSON; send one JSON object (UTF-8)"


def invalid_request(errors: list[dict]) -> tuple[int, str, str]:
    """(status, kind, message) for FastAPI's RequestValidationError.errors(): 400 BadJSON for bytes that are not
    JSON, else 422 naming the first three fields that do not fit and how many more."""
    if any(err.get("type") == "json_invalid" for err in errors):
        return 400, "BadJSON", BAD_JSON
    parts = []
    for err in errors[:3]:
        where = ".".join(str(x) for x in err.get("loc", ())[1:])  # without the leading "body" / "query"
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if where else msg)
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return 422, "InvalidRequest", "; ".join(parts) + more


async def send_error(send, status: int, kind: str, message: str, headers=()) -> None:
    """An early answer in the error shape, from ASGI middleware; `Connection: close`, as the body is left unread."""
    body = error_bytes(kind, message)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            CLOSE, *headers]})
    await send({"type": "http.response.body", "body": body})


# ---- the token -------------------------------------------------------------------------------------------------

def bearer_token(headers) -> bytes | None:
    """The token of an `Authorization: Bearer T` header (the scheme in any case, RFC 7235), from ASGI headers."""
    value = next((v for k, v in headers if k == b"authorization"), None)
    if value is None:
        return None
    scheme, _, token = value.partition(b" ")
    return token.strip() if scheme.lower() == b"bearer" else None


def token_matches(given: bytes | str | None, expected: bytes | str) -> bool:
    """Compared in constant time, so the token does not leak by timing."""
    as_bytes = (lambda t: t.encode() if isinstance(t, str) else t)  # noqa: E731
    return given is not None and hmac.compare_digest(as_bytes(given), as_bytes(expected))


UNAUTHORIZED = "send the service's token as `Authorization: Bearer TOKEN`"


class TokenGate:
    """The token, checked on the headers of every request `protects` names, before its body is read (FastAPI
    reads a body before a route's dependencies run), so that a client without the token cannot make the server
    read a body at all."""

    def __init__(self, app, token: str | None, protects: Callable[[str], bool] = lambda path: True,
                 message: str = UNAUTHORIZED):
        self.app, self.protects, self.message = app, protects, message
        self.expected = None if token is None else token.encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or self.expected is None or not self.protects(scope["path"]):
            return await self.app(scope, receive, send)
        if token_matches(bearer_token(scope.get("headers", [])), self.expected):
            return await self.app(scope, receive, send)
        await send_error(send, 401, "Unauthorized", self.message, [(b"www-authenticate", b"Bearer")])


# ---- the body: its size, its deadline --------------------------------------------------------------------------

class BodyTooLarge(HTTPException):
    """Raised from receive() as the bytes stream in; FastAPI passes an HTTPException on to the handlers."""

    def __init__(self, limit_mb: float, option: str = "--max-body-mb"):
        super().__init__(413, f"the body is over the limit of {limit_mb:g} MB ({option}); send a smaller one",
                         headers={"Connection": "close"})  # the rest of the body is not read: the connection ends


class BodyLimit:
    """A body over `max_bytes` is refused with 413 before it is read whole: on a Content-Length, before a byte of
    it; chunked or longer than announced, as soon as the count passes the limit. Written here rather than taken
    from the server because uvicorn has no body limit and every error here is the one JSON shape."""

    def __init__(self, app, max_bytes: int, limit_mb: float, option: str = "--max-body-mb"):
        self.app, self.max_bytes, self.limit_mb, self.option = app, max_bytes, limit_mb, option

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:  # refused on the headers: not a byte of it is read
            return await send_error(send, 413, "PayloadTooLarge", str(BodyTooLarge(self.limit_mb, self.option).detail))
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:  # chunked, or more bytes than announced
                    raise BodyTooLarge(self.limit_mb, self.option)
            return message

        await self.app(scope, counted, send)


def _content_length(scope) -> int | None:
    for key, value in scope.get("headers", []):
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodyTimeout(HTTPException):
    def __init__(self, seconds: float, option: str):
        super().__init__(408, f"the body did not arrive within {seconds:g} s ({option}); send it at once",
                         headers={"Connection": "close"})


class BodyDeadline:
    """The whole body must arrive within `seconds` of the request's headers, else 408: a client that trickles
    its body cannot hold a connection (uvicorn has no read deadline of its own)."""

    def __init__(self, app, seconds: float, option: str = "--body-timeout"):
        self.app, self.seconds, self.option = app, seconds, option

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        deadline = time.monotonic() + self.seconds
        complete = False

        async def timed():
            nonlocal complete
            if complete:  # after the body: a wait for the client to leave is not bounded here
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                raise BodyTimeout(self.seconds, self.option) from None
            complete = message["type"] != "http.request" or not message.get("more_body", False)
            return message

        await self.app(scope, timed, send)


# ---- logs ------------------------------------------------------------------------------------------------------

def log_text(text: object, limit: int = 300) -> str:
    """Client text for a log line: line breaks, control and other unprintable characters (U+2028 too) and the
    backslash written as escapes, so no client text can end a line or fake one; cut to `limit` characters."""
    text = str(text)
    cut = len(text) > limit
    out = "".join(c if c.isprintable() and c != "\\" else _escape(c) for c in text[:limit])
    return out + ("..." if cut else "")


def _escape(c: str) -> str:
    return "\\\\" if c == "\\" else f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"


class SafeFormatter(logging.Formatter):
    """The text format, with each record's message escaped by log_text (a traceback, the server's own, stays as
    it is), so a library that logs client text unescaped cannot forge a line either."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802  (logging's name)
        record.message = log_text(record.message, limit=10_000)
        return super().formatMessage(record)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and the traceback as `exc`)."""

    def format(self, record: logging.LogRecord) -> str:
        line = {"time": self.formatTime(record), "level": record.levelname, "logger": record.name,
                "message": record.getMessage()}
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=True)


def configure_logging(level: str = "info", fmt: str = "text") -> logging.Handler:
    """One handler on the root logger, in the text (escaped) or the JSON format, for the app's loggers and
    uvicorn's alike (run uvicorn with log_config=None so that it keeps them)."""
    if fmt not in ("text", "json"):
        raise ValueError(f"--log-format {fmt!r}: give text or json")
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else
                         SafeFormatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    return handler


class RequestLog:
    """One log line per request: its id, method, path (escaped), status and milliseconds; the id also goes back
    in X-Request-ID. Pure ASGI and outermost, so it sees every answer, the gates' and the handlers' alike."""

    def __init__(self, app, logger: logging.Logger):
        self.app, self.log = app, logger

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
            self.log.info("request %s %s %s %d %.1f ms", rid, scope["method"], log_text(scope["path"]), status, ms)


def _request_id(scope) -> str:
    for key, value in scope.get("headers", []):
        if key == b"x-request-id":
            given = value.decode("latin-1")
            if 0 < len(given) <= 64 and all(c.isascii() and (c.isalnum() or c in "-_.") for c in given):
                return given
    return uuid.uuid4().hex[:12]


# ---- connections -----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout: float = 10.0  # seconds for a request's headers to arrive, from connect or the last answer
    max_connections: int = 64  # open at once; one more is answered 503 and closed
    keep_alive: int = 5  # seconds an idle connection is kept between requests (uvicorn's timeout_keep_alive)
    linger_seconds: float = 5.0  # after an early answer, what the client still sends is read and dropped this long
    linger_bytes: int = 64 * 1024 * 1024  # ... and at most this much (a client sends a body whole before it reads)

    def __post_init__(self):
        if self.header_timeout <= 0 or self.max_connections < 1 or self.keep_alive < 1 or self.linger_seconds < 0:
            raise ValueError(f"bad connection limits {self}: need positive timeouts and at least one connection")


def server_config(app, host: str, port: int, limits: ConnectionLimits = ConnectionLimits(), *,
                  log_level: str = "info", access_log: bool = False, log_config=None):
    """The uvicorn.Config every server here runs with: the guarded protocol, the keep-alive, and logging left
    to configure_logging (log_config None) unless one is given."""
    import uvicorn

    return uvicorn.Config(app, host=host, port=port, http=guarded_protocol(limits), timeout_keep_alive=limits.keep_alive,
                          log_level=log_level, access_log=access_log, log_config=log_config, lifespan="on")


def run_server(config) -> bool:
    """Run a uvicorn server on `config` until it stops or Ctrl-C (as uvicorn.run, which takes no protocol
    class); False when it never started (the port taken, ...: uvicorn has logged why)."""
    import uvicorn

    server = uvicorn.Server(config)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    return bool(server.started)


def raw_error(status: int, reason: str, kind: str, message: str, extra: bytes = b"") -> bytes:
    """A whole answer as bytes, for the protocol to write where no request exists to answer through h11."""
    body = error_bytes(kind, message)
    return (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
            "connection: close\r\n").encode() + extra + b"\r\n" + body


def guarded_protocol(limits: ConnectionLimits):
    """uvicorn's h11 protocol with what it lacks: a deadline for the headers (uvicorn waits for ever once a
    client has sent one byte), a connection cap answered in the error shape (uvicorn's limit_concurrency answers
    in plain text, and only once the headers are in), its 400s in the error shape, and a lingering close."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11Protocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport):  # type: ignore[override]
            over = len(self.connections) >= limits.max_connections
            super().connection_made(_LingeringTransport(transport, self, limits))
            if over:
                self.transport.write(raw_error(503, "Service Unavailable", "TooManyConnections",
                                               f"the server holds {limits.max_connections} connections already "
                                               "(--max-connections); retry in a second", b"retry-after: 1\r\n"))
                self.transport.close()
                return
            self._arm_header_deadline()

        def handle_events(self) -> None:
            cycle = self.cycle
            super().handle_events()
            if self.cycle is not cycle:  # a request's headers arrived
                self._disarm_header_deadline()

        def on_response_complete(self) -> None:
            if not self.transport.is_closing():
                self._arm_header_deadline()  # before uvicorn reads a pipelined request, which disarms it
            super().on_response_complete()

        def connection_lost(self, exc) -> None:
            self._disarm_header_deadline()
            super().connection_lost(exc)

        def send_400_response(self, msg: str) -> None:
            """What h11 cannot parse (headers over 16 KB, a Content-Length with Transfer-Encoding, a bad request
            line) is answered in the error shape too, not uvicorn's plain text."""
            self.transport.write(raw_error(400, "Bad Request", "BadRequest", f"{msg.rstrip('.')}; send one HTTP/1.1 "
                                           "request with headers under 16 KB"))
            self.transport.close()

        def _arm_header_deadline(self) -> None:
            self._disarm_header_deadline()
            self._header_timer = self.loop.call_later(limits.header_timeout, self._headers_late)

        def _disarm_header_deadline(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_late(self) -> None:
            self._header_timer = None
            if self.transport.is_closing() or (self.cycle is not None and not self.cycle.response_complete):
                return
            if self.conn.trailing_data[0]:  # part of a request came: say why it ends (an idle one just closes)
                self.transport.write(raw_error(408, "Request Timeout", "RequestTimeout",
                                               f"the request's headers did not arrive within {limits.header_timeout:g} "
                                               "s (--header-timeout)"))
            self.transport.close()

    return GuardedH11Protocol


class _LingeringTransport:
    """uvicorn's transport, whose close() lingers: the answer is flushed and the sending side shut, then what the
    client still sends is read and dropped until it closes, for at most linger_seconds and linger_bytes. Closing
    at once with unread bytes makes the kernel send a reset, and a client still sending its body (requests,
    urllib) then never reads the 413 that came before it."""

    def __init__(self, transport, protocol, limits: ConnectionLimits):
        self._transport, self._protocol, self._limits = transport, protocol, limits
        self._lingering = False

    def __getattr__(self, name):
        return getattr(self._transport, name)

    def is_closing(self) -> bool:
        return self._lingering or self._transport.is_closing()

    def close(self) -> None:
        if self.is_closing():
            return
        self._lingering = True
        transport = self._transport
        if transport.can_write_eof():
            transport.write_eof()  # the FIN goes after the buffered answer
        transport.set_protocol(_Drain(transport, self._limits))
        transport.resume_reading()
        asyncio.get_running_loop().call_soon(self._protocol.connection_lost, None)  # uvicorn's bookkeeping


class _Drain(asyncio.Protocol):
    def __init__(self, transport, limits: ConnectionLimits):
        self.transport, self.left = transport, limits.linger_bytes
        self.timer = asyncio.get_running_loop().call_later(limits.linger_seconds, self._end)

    def data_received(self, data: bytes) -> None:
        self.left -= len(data)
        if self.left < 0:
            self._end()

    def eof_received(self) -> bool:
        self._end()
        return False

    def connection_lost(self, exc) -> None:
        self.timer.cancel()

    def _end(self) -> None:
        self.timer.cancel()
        self.transport.close()
