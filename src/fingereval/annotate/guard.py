"""What every request passes before a route runs, on its headers alone (pure ASGI, so no body byte is read):
the Host check of an open app, who sent it (session cookie or bearer token), the login attempt limit,
the body limit, and the headers that keep a browser from sniffing or framing the app's answers.
"""
from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection

from fingereval.annotate.pages import login_page
from fingereval.annotate.people import ONE_PERSON, People, Person
from fingereval.annotate.replies import error_bytes
from fingereval.annotate.sessions import LoginThrottle, Sessions

COOKIE = "fingereval_annotate"
PAGES = ("/", "/adjudicate")  # answered with the login form (HTML) when nobody is logged in
OPEN_PATHS = ("/login", "/logout")  # reachable without a login; /login has its own attempt limit
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer")]
UNAUTHORIZED = "no token, or the wrong one: send `Authorization: Bearer TOKEN` or log in at /login"


async def send_error(send, status: int, kind: str, message: str, headers: list[tuple[bytes, bytes]] = ()) -> None:
    """An early answer in the one error shape; `Connection: close`, as the request's body is left unread."""
    await _send(send, status, error_bytes(kind, message), b"application/json", headers)


async def _send(send, status: int, body: bytes, content_type: bytes, headers=()) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close"), *headers]})
    await send({"type": "http.response.body", "body": body})


def client_address(scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


def host_name(host_header: str) -> str:
    """The Host header's name without its port: `[::1]:8000` -> `::1`, `Example.org:80` -> `example.org`."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Gate:
    """Sets scope["state"]["person"] for the routes, or answers 400 (a Host the open app does not serve),
    401 (no login, no token, a wrong one) or 429 (too many wrong tokens from this address)."""

    def __init__(self, app, people: People, sessions: Sessions, throttle: LoginThrottle, hosts: set[str] | None):
        self.app, self.people, self.sessions, self.throttle, self.hosts = app, people, sessions, throttle, hosts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        connection = HTTPConnection(scope)
        if self.hosts is not None and host_name(connection.headers.get("host", "")) not in self.hosts:
            return await send_error(send, 400, "InvalidHost", "this app answers only on its own address (the Host "
                                    "header names another); open it at the address `annotate serve` printed")
        state = scope.setdefault("state", {})
        if not self.people.guarded:
            state["person"] = ONE_PERSON
            return await self.app(scope, receive, send)
        if scope["path"] in OPEN_PATHS:
            return await self.app(scope, receive, send)
        person = self._from_session(connection)
        if person is None:
            header = connection.headers.get("authorization")
            if header is not None:
                address = client_address(scope)
                wait = self.throttle.retry_after(address)
                if wait is not None:
                    return await send_error(send, 429, "TooManyAttempts", too_many(wait),
                                            [(b"retry-after", str(wait).encode())])
                person = self._from_bearer(header)
                if person is None:
                    self.throttle.failed(address)
        if person is None:
            return await self._refuse(scope, send)
        state["person"] = person
        return await self.app(scope, receive, send)

    def _from_session(self, connection: HTTPConnection) -> Person | None:
        session_id = connection.cookies.get(COOKIE)
        session = self.sessions.get(session_id) if session_id else None
        return None if session is None else self.people.by_name(session.name)

    def _from_bearer(self, header: str) -> Person | None:
        scheme, _, given = header.partition(" ")
        return self.people.by_token(given.strip()) if scheme.lower() == "bearer" and given.strip() else None

    async def _refuse(self, scope, send) -> None:
        if scope["path"] in PAGES:
            query = scope.get("query_string", b"").decode("latin-1")
            page = login_page(scope["path"] + (f"?{query}" if query else ""), mode=self.people.mode)
            return await _send(send, 401, page.encode(), b"text/html; charset=utf-8", PAGE_HEADERS)
        return await send_error(send, 401, "Unauthorized", UNAUTHORIZED, [(b"www-authenticate", b"Bearer")])


def too_many(wait: int) -> str:
    return f"too many wrong tokens from your address: try again in {wait} s (see the Retry-After header)"


# the pages' inline script and style, the app's own media and API, nothing from elsewhere, never in a frame
CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; media-src 'self'; "
       "connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
PAGE_HEADERS = [(b"content-security-policy", CSP.encode()), (b"cache-control", b"no-store")]


class BodyTooLarge(HTTPException):
    """Raised from receive() as a body streams in past the limit; the app's handlers answer 413."""

    def __init__(self, limit_mb: float):
        super().__init__(413, f"the body is over the app's limit of {limit_mb:g} MB (--max-body-mb)",
                         headers={"connection": "close"})  # the rest of the body is not read: end the connection


class BodyLimit:
    """A body over `max_bytes` is refused: on its Content-Length before a byte is read, or as a chunked
    body streams past it. (Written here because FastAPI's own answers in plain text, not the one shape.)"""

    def __init__(self, app, max_bytes: int, limit_mb: float):
        self.app, self.max_bytes, self.limit_mb = app, max_bytes, limit_mb

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = Headers(scope=scope).get("content-length", "")
        if declared.strip().isdigit() and int(declared) > self.max_bytes:  # (the server refuses a malformed one)
            return await send_error(send, 413, "PayloadTooLarge", str(BodyTooLarge(self.limit_mb).detail))
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.limit_mb)
            return message

        await self.app(scope, counted, send)


class SecurityHeaders:
    """nosniff, no framing and no referrer on every answer, the early ones included."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *[(k, v) for k, v in SECURITY_HEADERS if k not in names]]
            await send(message)

        await self.app(scope, receive, with_headers)


__all__ = ["BodyLimit", "COOKIE", "CSP", "Gate", "PAGES", "PAGE_HEADERS", "SecurityHeaders", "client_address"]
