"""The pages (`/`, `/adjudicate`), the login form and logout: HTML for people, not in the API schema.

Logging in opens a server-side session (fingereval.annotate.sessions) for the person whose token was
typed; logging out ends it. A wrong token counts against the client address's login attempt limit.
"""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from fingereval.annotate.context import AppContext
from fingereval.annotate.guard import COOKIE, PAGE_HEADERS, PAGES, client_address, too_many
from fingereval.annotate.pages import adjudicate_page, annotate_page, login_page

_PAGE_HEADERS = {name.decode(): value.decode() for name, value in PAGE_HEADERS}


def page(html: str, status: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    return HTMLResponse(html, status_code=status, headers={**_PAGE_HEADERS, **(headers or {})})


def safe_next(target: str) -> str:
    """Only a page of this app (with its query): never a redirect to another site, whatever the spelling
    (`//host`, `/\\host`, a tab or newline a browser would drop)."""
    if any(c in target for c in "\\\t\r\n") or any(ord(c) < 32 for c in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or parts.path not in PAGES:
        return "/"
    return parts.path + (f"?{parts.query}" if parts.query else "")


def cross_site(request: Request) -> bool:
    """A form posted from a page of another site (browsers name it in Origin): logging a person in as someone
    else, or out, from elsewhere is refused."""
    origin = request.headers.get("origin")
    if origin is None:  # not sent by a browser posting from elsewhere (curl, an old browser on the same site)
        return False
    return origin == "null" or urlsplit(origin).netloc.lower() != request.headers.get("host", "").lower()


def pages_router(ctx: AppContext) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    people, sessions, throttle = ctx.people, ctx.sessions, ctx.throttle

    @router.get("/", response_class=HTMLResponse)
    def annotate():
        return page(annotate_page())

    @router.get("/adjudicate", response_class=HTMLResponse)
    def adjudicate():
        return page(adjudicate_page())

    @router.get("/login", response_class=HTMLResponse)
    def login_form(next: str = "/"):
        return page(login_page(safe_next(next), mode=people.mode))

    @router.post("/login")
    async def login(request: Request):
        if cross_site(request):
            return page(login_page("/", mode=people.mode, note="Log in from this app's own page."), 403)
        address = client_address(request.scope)
        wait = throttle.retry_after(address)
        if wait is not None:  # refused before the token is even read
            return page(login_page("/", mode=people.mode, note=too_many(wait)), 429, {"Retry-After": str(wait)})
        # the form is parsed with the stdlib: python-multipart (FastAPI's Form) is not a dependency of ours;
        # the body limit (fingereval.annotate.guard.BodyLimit) has already bounded it
        try:
            form = parse_qs((await request.body()).decode("utf-8", "replace"), max_num_fields=20)
        except ValueError:  # more fields than a login form has
            return page(login_page("/", mode=people.mode, note="That is not the login form."), 400)
        given, target = form.get("token", [""])[0], safe_next(form.get("next", ["/"])[0])
        if not people.guarded:
            return RedirectResponse(target, status_code=303)
        person = people.by_token(given) if given else None
        if person is None:
            throttle.failed(address)
            return page(login_page(target, mode=people.mode, note="That token is not one this app knows."), 401)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, sessions.open(person.name), max_age=int(ctx.settings.session_hours * 3600),
                            httponly=True, samesite="strict", path="/", secure=request.url.scheme == "https")
        return response

    @router.post("/logout")
    async def logout(request: Request):
        """Ends the session at once (its cookie no longer works, even if kept) and clears the cookie."""
        if cross_site(request):
            return page(login_page("/", mode=people.mode, note="Log out from this app's own page."), 403)
        session_id = request.cookies.get(COOKIE)
        if session_id:
            sessions.close(session_id)
        response = RedirectResponse("/login" if people.guarded else "/", status_code=303)
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
        return response

    return router


__all__ = ["pages_router", "safe_next"]
