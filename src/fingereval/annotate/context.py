"""What the app's routers share: the store, the settings, who is who, and how an item is shown to a client
(video paths relative to the data file, the item id URL-quoted, never an absolute path)."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from fastapi import Request

from fingereval.annotate.models import NextItem, Progress
from fingereval.annotate.people import People, Person
from fingereval.annotate.replies import ApiError, Scrub
from fingereval.annotate.sessions import LoginThrottle, Sessions
from fingereval.annotate.settings import AnnotateSettings
from fingereval.annotate.store import AnnotationStore, Item


@dataclass
class AppContext:
    store: AnnotationStore
    settings: AnnotateSettings
    people: People = field(init=False)
    sessions: Sessions = field(init=False)
    throttle: LoginThrottle = field(init=False)
    scrub: Scrub = field(init=False)

    def __post_init__(self):
        s = self.settings
        self.people = People(token=s.token, users=s.users)
        self.sessions = Sessions(lifetime_s=s.session_hours * 3600, per_person=s.sessions_per_person)
        self.throttle = LoginThrottle(s.login_failures, s.login_window_s)
        self.scrub = Scrub([self.folder(), self.store.path.absolute().parent])

    def folder(self) -> Path:
        """The data file's folder: video paths are shown and exported relative to it."""
        return self.store.data_folder() or self.store.path.absolute().parent

    def video_name(self, item: Item) -> str:
        """The video's path under the data file's folder, or its file name when it lies elsewhere."""
        return self.shown_path(item.record.video)

    def shown_path(self, path: str) -> str:
        """A file's path under the data file's folder, or its file name when it lies elsewhere (never absolute)."""
        rel = os.path.relpath(path, self.folder())
        return Path(path).name if rel == os.pardir or rel.startswith(os.pardir + os.sep) else Path(rel).as_posix()

    def note(self, item: Item) -> str | None:
        """Why the item's video does not play, naming the video as the client knows it."""
        return None if item.note is None else self.scrub(item.note.replace(item.record.video, self.video_name(item)))

    def shown(self, item: Item, annotator: str | None) -> NextItem:
        record = item.record
        per_item = self.settings.per_item
        progress = self.store.progress(annotator, per_item) if annotator else {"done": 0, "left": 0, "total": 0,
                                                                               "skipped": 0}
        image = {} if record.image is None else {"image": self.shown_path(record.image),
                                                 "image_url": image_url(item.item_id)}
        return NextItem(item_id=item.item_id, video=self.video_name(item), video_url=video_url(item.item_id), **image,
                        prompt=record.prompt, question=record.question, dimension=record.dimension,
                        entity=record.entity, reason=record.reason,
                        reason_answer=record.answer if record.reason else None, fps=item.fps,
                        progress=Progress(**progress))


def video_url(item_id: str) -> str:
    """The item's video route, its id quoted whole: `/ ? # %` and the rest cannot break the URL."""
    return "/api/videos/" + quote(item_id, safe="")


def image_url(item_id: str) -> str:
    """The item's conditioning image route (image-to-video), its id quoted whole as the video's."""
    return "/api/images/" + quote(item_id, safe="")


def current_person(request: Request) -> Person:
    """Who sent the request, as the gate (fingereval.annotate.guard) found it."""
    return request.state.person


def acting_name(person: Person, declared: str | None, what: str = "annotator") -> str:
    """The name a label is kept under: the logged-in person's; in the one-person mode, the name the request gives."""
    declared = declared.strip() if declared is not None else None
    if person.name is None:
        if not declared:
            raise ApiError(422, f"name the {what}: this app has no users file, so say who labels "
                                f"(`{what}` in the body, or ?annotator=NAME)")
        return declared
    if declared and declared != person.name:
        raise ApiError(403, f"you are logged in as {person.name!r}; you act only as yourself (leave `{what}` out)")
    return person.name


def require_adjudicator(person: Person) -> None:
    if person.role != "adjudicator":
        raise ApiError(403, f"{person.name!r} is an annotator; only adjudicators see disagreements, adjudicate and "
                            "export (the users file gives each person a role)")


__all__ = ["AppContext", "acting_name", "current_person", "image_url", "require_adjudicator", "video_url"]
