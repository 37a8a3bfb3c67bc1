"""The annotation web app (FastAPI): people answer the yes/no questions and check the reasons.

    from fingereval.annotate.app import create_app
    from fingereval.annotate.store import open_store
    store, skipped = open_store("annotations.sqlite", "qa.jsonl")
    app = create_app(store, per_item=2, token="T")  # uvicorn.run(app, host="127.0.0.1", port=8000)

Pages: `/` (annotate), `/adjudicate` (settle disagreements). JSON API under `/api/` (the pages use it too).
With a token every route but the login form needs `Authorization: Bearer TOKEN` or the cookie the login sets.
"""
from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from fingereval.annotate.agreement import Label
from fingereval.annotate.pages import adjudicate_page, annotate_page, login_page
from fingereval.annotate.store import AnnotationStore, Item

COOKIE = "fingereval_annotate"
PAGES = ("/", "/adjudicate")


class _Decision(BaseModel):
    """An answer to an item and a verdict on its reason: what an annotator and an adjudicator both post."""

    item_id: str
    answer: Literal["yes", "no"]
    reason_verdict: Literal["accept", "reject", "edit"] | None = None
    reason: str | None = Field(default=None, max_length=10_000)


class LabelIn(_Decision):
    annotator: str = Field(min_length=1, max_length=100)


class AdjudicationIn(_Decision):
    adjudicator: str = Field(min_length=1, max_length=100)


class Progress(BaseModel):
    done: int
    left: int
    total: int
    skipped: int


class NextItem(BaseModel):
    item_id: str
    video: str
    video_url: str
    prompt: str
    question: str
    dimension: str
    entity: str | None
    reason: str | None
    reason_answer: str | None = Field(description="the answer the reason was written for, if the file says")
    fps: float | None
    progress: Progress


class LabelOut(BaseModel):
    id: int
    progress: Progress


class KappaOut(BaseModel):
    cohen_kappa: float | None
    n: int


class AgreementOut(KappaOut):
    per_dimension: dict[str, KappaOut]


class Detail(BaseModel):
    detail: str


NOT_FOUND = {404: {"model": Detail, "description": "no such item"}}
POSTED = {**NOT_FOUND, 400: {"model": Detail, "description": "the body is not valid JSON"}}


class Disagreement(BaseModel):
    item: NextItem
    labels: list[dict]


def _session(token: str) -> str:
    """The cookie's value: derived from the token, so the cookie is not the token itself."""
    return hmac.new(token.encode(), b"fingereval-annotate-session", hashlib.sha256).hexdigest()


def _authorized(request: Request, token: str) -> bool:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer ") and hmac.compare_digest(header[7:].strip().encode(), token.encode()):
        return True
    return hmac.compare_digest(request.cookies.get(COOKIE, "").encode(), _session(token).encode())


def _safe_next(target: str) -> str:
    """Only a page of this app: never an open redirect to another site."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


def create_app(store: AnnotationStore, per_item: int = 2, token: str | None = None) -> FastAPI:
    """The app on a store; `per_item` annotators label each item; `token` guards everything when given."""
    if per_item < 1:
        raise ValueError(f"per_item must be at least 1, got {per_item}")
    app = FastAPI(title="fingereval annotate", summary="Answer the yes/no questions and check the reasons.")
    app.state.store, app.state.per_item = store, per_item

    def folder() -> Path:
        return store.data_folder() or store.path.parent

    def shown(item: Item, annotator: str | None) -> NextItem:
        record = item.record
        progress = store.progress(annotator, per_item) if annotator else {"done": 0, "left": 0, "total": 0, "skipped": 0}
        return NextItem(item_id=item.item_id, video=Path(os.path.relpath(record.video, folder())).as_posix(),
                        video_url=f"/api/videos/{item.item_id}", prompt=record.prompt, question=record.question,
                        dimension=record.dimension, entity=record.entity, reason=record.reason,
                        reason_answer=record.answer if record.reason else None, fps=item.fps,
                        progress=Progress(**progress))

    @app.middleware("http")
    async def guard(request: Request, call_next):
        if token is None or request.url.path == "/login" or _authorized(request, token):
            return await call_next(request)
        if request.url.path in PAGES:
            query = f"?{request.url.query}" if request.url.query else ""
            return HTMLResponse(login_page(request.url.path + query), status_code=401)
        return JSONResponse({"error": {"type": "Unauthorized", "message": "no token, or the wrong one: send "
                                       "`Authorization: Bearer TOKEN` or log in at /login"}},
                            status_code=401, headers={"WWW-Authenticate": "Bearer"})

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form(next: str = "/"):
        return HTMLResponse(login_page(_safe_next(next)))

    @app.post("/login", include_in_schema=False)
    async def login(request: Request):
        # the form is parsed with the stdlib: python-multipart (FastAPI's Form) is not a dependency of ours
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        given, target = form.get("token", [""])[0], _safe_next(form.get("next", ["/"])[0])
        if token is None:
            return RedirectResponse(target, status_code=303)
        if not hmac.compare_digest(given.encode(), token.encode()):
            return HTMLResponse(login_page(target, wrong=True), status_code=401)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(COOKIE, _session(token), httponly=True, samesite="strict", path="/")
        return response

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def annotate():
        return HTMLResponse(annotate_page())

    @app.get("/adjudicate", response_class=HTMLResponse, include_in_schema=False)
    def adjudicate():
        return HTMLResponse(adjudicate_page())

    @app.get("/api/next", response_model=NextItem, responses={204: {"description": "nothing left for this annotator"}})
    def next_item(annotator: str = Query(min_length=1, max_length=100)):
        """The next item for `annotator` (where they left off), or 204 when nothing is left for them."""
        annotator = annotator.strip()  # as a posted label's name is kept
        item = store.next_item(annotator, per_item)
        if item is None:
            return Response(status_code=204)
        return shown(item, annotator)

    @app.get("/api/progress", response_model=Progress)
    def progress(annotator: str = Query(min_length=1, max_length=100)):
        return store.progress(annotator.strip(), per_item)

    @app.post("/api/labels", response_model=LabelOut, responses=POSTED)
    def post_label(body: LabelIn):
        """Keep one label (every label is kept; an annotator's latest counts)."""
        label_id = _append(store.add_label, body.item_id, body.annotator, body)
        return LabelOut(id=label_id, progress=Progress(**store.progress(body.annotator, per_item)))

    @app.get("/api/agreement", response_model=AgreementOut)
    def agreement():
        """Cohen's kappa of the yes/no answers over the items two annotators labelled, overall and per dimension."""
        return store.agreement()

    @app.get("/api/disagreements", response_model=list[Disagreement])
    def disagreements():
        """Items whose annotators gave different answers and that nobody adjudicated yet."""
        return [Disagreement(item=shown(item, None), labels=[
            {"annotator": label.annotator, "answer": label.answer, "reason_verdict": label.reason_verdict,
             "reason": label.reason} for label in labels]) for item, labels in store.disagreements()]

    @app.post("/api/adjudications", response_model=dict[str, int], responses=POSTED)
    def post_adjudication(body: AdjudicationIn):
        """Decide an item: its answer, and (with a verdict) its reason. The latest adjudication decides."""
        return {"id": _append(store.add_adjudication, body.item_id, body.adjudicator, body)}

    @app.get("/api/export", response_class=Response,
             responses={200: {"content": {"application/x-ndjson": {}}, "description": "FingER-Instruct JSONL"}})
    def export():
        """FingER-Instruct JSONL of the agreed and adjudicated items (video paths relative to the data file)."""
        lines = store.export_lines(folder())
        return Response("".join(line + "\n" for line in lines), media_type="application/x-ndjson",
                        headers={"Content-Disposition": 'attachment; filename="final.jsonl"'})

    @app.get("/api/skipped", response_model=list[dict])
    def skipped():
        """Items whose video will not play, with the reason."""
        return [{"item_id": item.item_id, "note": item.note} for item in store.skipped()]

    @app.get("/api/videos/{item_id}", response_class=FileResponse, responses={
        **NOT_FOUND, 200: {"content": {"video/*": {}}, "description": "the whole video"},
        206: {"content": {"video/*": {}}, "description": "the bytes a Range header asked for"}})
    def video(item_id: str):
        """The item's video; Starlette's FileResponse answers Range requests with 206, so the player can seek."""
        item = store.item(item_id)
        if item is None:
            raise HTTPException(404, f"no item {item_id!r}")
        if not Path(item.record.video).is_file():
            raise HTTPException(404, f"the video of item {item_id!r} is gone from {item.record.video}")
        return FileResponse(item.record.video)

    return app


def _append(add, item_id: str, who: str, body) -> int:
    try:
        return add(Label(item_id, who.strip(), body.answer, body.reason_verdict, body.reason))
    except KeyError as e:
        raise HTTPException(404, str(e.args[0])) from None
    except ValueError as e:  # the same 422 shape as a body that does not fit the schema
        raise RequestValidationError([{"type": "value_error", "loc": ("body",), "msg": str(e), "input": None}]) from None
