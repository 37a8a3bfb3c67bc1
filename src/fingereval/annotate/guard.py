"""What every request passes before a route runs, on its headers alone (pure ASGI, so no body byte is read):
the Host check of an open app, who sent it (session cookie or bearer token) and the login attempt limit
(Gate), and the headers that keep a browser from sniffing or framing the app's answers (SecurityHeaders).
The body's size and deadline are fingereval.web's BodyLimit and BodyDeadline, the service's own.
"""
from __future__ import annotations

from starlette.requests import HTTPConnection

from fingereval.annotate.pages import login_page
from fingereval.annotate.people import ONE_PERSON, People, Person
from fingereval.annotate.sessions import LoginThrottle, Sessions
from fingereval.web import CLOSE, bearer_token, send_error

COOKIE = "fingereval_annotate"
PAGES = ("/", "/adjudicate")  # answered with the login form (HTML) when nobody is logged in
OPEN_PATHS = ("/login", "/logout")  # reachable without a login; /login has its own attempt limit
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin")]
UNAUTHORIZED = "no token, or the wrong one: send `Authorization: Bearer TOKEN` or log in at /login"


async def send_page(send, status: int, html: str, headers=()) -> None:
    """An early HTML answer (the login form); `Connection: close`, as the request's body is left unread."""
    body = html.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(body)).encode()),
                            CLOSE, *headers]})
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
        if person is None and "authorization" in connection.headers:
            address = client_address(scope)
            wait = self.throttle.retry_after(address)
            if wait is not None:
                return await send_error(send, 429, "TooManyAttempts", too_many(wait),
                                        [(b"retry-after", str(wait).encode())])
            given = bearer_token(scope["headers"])
            person = self.people.by_token(given) if given else None
            if person is None:  # a wrong token, or no bearer token in the header: a guess either way
                self.throttle.failed(address)
        if person is None:
            return await self._refuse(scope, send)
        state["person"] = person
        return await self.app(scope, receive, send)

    def _from_session(self, connection: HTTPConnection) -> Person | None:
        session_id = connection.cookies.get(COOKIE)
        session = self.sessions.get(session_id) if session_id else None
        return None if session is None else self.people.by_name(session.name)

    async def _refuse(self, scope, send) -> None:
        if scope["path"] in PAGES:
            query = scope.get("query_string", b"").decode("latin-1")
            return await send_page(send, 401, login_page(scope["path"] + (f"?{query}" if query else ""),
                                                         mode=self.people.mode), PAGE_HEADERS)
        return await send_error(send, 401, "Unauthorized", UNAUTHORIZED, [(b"www-authenticate", b"Bearer")])


def too_many(wait: int) -> str:
    return f"too many wrong tokens from your address: try again in {wait} s (see the Retry-After header)"


# the pages' inline script and style, the app's own media and API, nothing from elsewhere, never in a frame
CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; media-src 'self'; "
       "connect-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
PAGE_HEADERS = [(b"content-security-policy", CSP.encode()), (b"cache-control", b"no-store")]


class SecurityHeaders:
    """nosniff, no framing and no referrer sent to other sites, on every answer (the early ones included)."""

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


__all__ = ["COOKIE", "CSP", "Gate", "PAGES", "PAGE_HEADERS", "SecurityHeaders", "client_address"]
