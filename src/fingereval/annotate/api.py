"""The JSON API: an annotator's work (`labels_router`) and the adjudicator's (`review_router`).

Who acts is the logged-in person (fingereval.annotate.context.current_person); with a users file a
request cannot act as someone else, and only adjudicators see disagreements, adjudicate and export.
"""
from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response

from fingereval.annotate.agreement import Label
from fingereval.annotate.context import AppContext, acting_name, current_person, require_adjudicator
from fingereval.annotate.models import (AdjudicationIn, AgreementOut, Disagreement, LabelIn, LabelOut, LabelShown, Me,
                                        NextItem, Progress, Skipped)
from fingereval.annotate.people import Person
from fingereval.annotate.replies import ApiError, documented

NAME_QUERY = Query(None, min_length=1, max_length=100, description=(
    "whose work: needed by an app without a users file; with one, leave it out (or give your own name)"))
POSTED = documented(400, 403, 404, 422)


def labels_router(ctx: AppContext) -> APIRouter:
    router = APIRouter(prefix="/api", responses=documented(401, 413, 429))
    store, per_item = ctx.store, ctx.settings.per_item

    @router.get("/me", response_model=Me)
    def me(person: Person = Depends(current_person)):
        """Who you are to the app: your name and role (from the users file), and the app's mode."""
        return Me(name=person.name, role=person.role, mode=ctx.people.mode)

    @router.get("/next", response_model=NextItem, responses={
        204: {"description": "nothing left for this annotator"}, **documented(403)})
    def next_item(annotator: str | None = NAME_QUERY, person: Person = Depends(current_person)):
        """Your next item (where you left off), or 204 when nothing is left for you."""
        name = acting_name(person, annotator)
        item = store.next_item(name, per_item)
        return Response(status_code=204) if item is None else ctx.shown(item, name)

    @router.get("/progress", response_model=Progress, responses=documented(403))
    def progress(annotator: str | None = NAME_QUERY, person: Person = Depends(current_person)):
        return store.progress(acting_name(person, annotator), per_item)

    @router.post("/labels", response_model=LabelOut, responses=POSTED)
    def post_label(body: LabelIn, person: Person = Depends(current_person)):
        """Keep one label, under your name (every label is kept; your latest counts)."""
        name = acting_name(person, body.annotator)
        label_id = _append(ctx, store.add_label, body, name)
        return LabelOut(id=label_id, progress=Progress(**store.progress(name, per_item)))

    @router.get("/skipped", response_model=list[Skipped])
    def skipped():
        """Items whose video will not play, with the reason."""
        return [Skipped(item_id=item.item_id, note=ctx.note(item)) for item in store.skipped()]

    @router.get("/agreement", response_model=AgreementOut)
    def agreement():
        """Cohen's kappa of the yes/no answers over the items two annotators labelled, overall and per dimension."""
        return store.agreement()

    return router


def review_router(ctx: AppContext) -> APIRouter:
    router = APIRouter(prefix="/api", responses=documented(401, 403, 413, 429))
    store = ctx.store

    def adjudicator(person: Person = Depends(current_person)) -> Person:
        require_adjudicator(person)
        return person

    @router.get("/disagreements", response_model=list[Disagreement])
    def disagreements(_: Person = Depends(adjudicator)):
        """Items whose annotators gave different answers and that nobody adjudicated yet."""
        return [Disagreement(item=ctx.shown(item, None), labels=[
            LabelShown(annotator=label.annotator, answer=label.answer, reason_verdict=label.reason_verdict,
                       reason=label.reason) for label in labels]) for item, labels in store.disagreements()]

    @router.post("/adjudications", response_model=dict[str, int], responses=POSTED)
    def post_adjudication(body: AdjudicationIn, person: Person = Depends(adjudicator)):
        """Decide an item: its answer, and (with a verdict) its reason. The latest adjudication decides."""
        return {"id": _append(ctx, store.add_adjudication, body, acting_name(person, body.adjudicator, "adjudicator"))}

    @router.get("/export", response_class=Response, responses={
        200: {"content": {"application/x-ndjson": {}}, "description": "FingER-Instruct JSONL"}})
    def export(_: Person = Depends(adjudicator)):
        """FingER-Instruct JSONL of the agreed and adjudicated items (video paths relative to the data file)."""
        lines = store.export_lines(ctx.folder())
        return Response("".join(line + "\n" for line in lines), media_type="application/x-ndjson",
                        headers={"Content-Disposition": 'attachment; filename="final.jsonl"'})

    return router


def _append(ctx: AppContext, add, body, who: str) -> int:
    item = ctx.store.item(body.item_id)
    if item is None:
        raise ApiError(404, f"no item {body.item_id!r}")
    if not item.playable:
        raise ApiError(422, f"item {item.item_id!r} is skipped: {ctx.note(item)}")
    try:
        return add(Label(body.item_id, who, body.answer, body.reason_verdict, body.reason))
    except KeyError:  # removed since it was read: only another process could do that
        raise ApiError(404, f"no item {body.item_id!r}") from None
    except ValueError as e:
        raise ApiError(422, ctx.scrub(str(e))) from None


__all__ = ["labels_router", "review_router"]
