"""The annotation web app (FastAPI): people answer the yes/no questions and check the reasons.

    from fingereval.annotate.app import create_app
    from fingereval.annotate.people import load_users
    from fingereval.annotate.store import open_store
    store, skipped = open_store("annotations.sqlite", "qa.jsonl")
    app = create_app(store, per_item=2, users=load_users("users.yaml"))  # or token="T": one person
    # uvicorn.run(app, host="127.0.0.1", port=8000)

Pages: `/` (annotate), `/adjudicate` (settle disagreements), `/login`, `/logout` (fingereval.annotate.login).
JSON API under `/api/` (fingereval.annotate.api, .videos; the pages use it too). What every request passes
first (who sent it, the body limit, the login attempt limit) is fingereval.annotate.guard; the limits and
their defaults are fingereval.annotate.settings.AnnotateSettings (docs/annotate.md, "Security").
"""
from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI

from fingereval.annotate.api import labels_router, review_router
from fingereval.annotate.context import AppContext
from fingereval.annotate.guard import Gate, SecurityHeaders
from fingereval.annotate.login import pages_router
from fingereval.annotate.replies import install_handlers
from fingereval.annotate.settings import AnnotateSettings
from fingereval.annotate.store import AnnotationStore
from fingereval.annotate.videos import videos_router
from fingereval.web import BodyDeadline, BodyLimit, RequestLog

log = logging.getLogger("fingereval.annotate")


def create_app(store: AnnotationStore, settings: AnnotateSettings | None = None, **fields: Any) -> FastAPI:
    """The app on a store. `settings` (or its defaults) with `fields` applied: per_item, token (one shared
    token: one person), users (a users file's entries: each label is its sender's), the limits."""
    base = settings.model_dump() if settings is not None else {}
    settings = AnnotateSettings.model_validate({**base, **fields})
    ctx = AppContext(store, settings)
    app = FastAPI(title="fingereval annotate", summary="Answer the yes/no questions and check the reasons.")
    app.state.store, app.state.per_item, app.state.context = store, settings.per_item, ctx
    # added innermost first: the log line and the headers wrap every answer; the gate decides before a byte is read
    app.add_middleware(BodyDeadline, seconds=settings.body_timeout_s, option="--body-timeout")
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, limit_mb=settings.max_body_mb)
    app.add_middleware(Gate, people=ctx.people, sessions=ctx.sessions, throttle=ctx.throttle, hosts=settings.hosts())
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestLog, logger=log)
    install_handlers(app, ctx.scrub)
    for router in (pages_router(ctx), labels_router(ctx), review_router(ctx), videos_router(ctx)):
        app.include_router(router)
    return app


__all__ = ["create_app"]
