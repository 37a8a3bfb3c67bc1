"""The JSON the annotation app's API takes and gives (its OpenAPI schema is made from these)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

class _Decision(BaseModel):
    """An answer to an item and a verdict on its reason: what an annotator and an adjudicator both post."""

    item_id: str
    answer: Literal["yes", "no"]
    reason_verdict: Literal["accept", "reject", "edit"] | None = None
    reason: str | None = Field(default=None, max_length=10_000)


class LabelIn(_Decision):
    annotator: str | None = Field(default=None, min_length=1, max_length=100, description=(
        "who labels: needed by an app without a users file; with one, leave it out (the label is the logged-in "
        "person's) or send your own name"))


class AdjudicationIn(_Decision):
    adjudicator: str | None = Field(default=None, min_length=1, max_length=100, description=(
        "who decides: needed by an app without a users file; with one, leave it out (only adjudicators adjudicate)"))


class Me(BaseModel):
    name: str | None = Field(description="your name from the users file; null when the app has none (then name "
                                         "the annotator on each request)")
    role: Literal["annotator", "adjudicator"]
    mode: Literal["open", "token", "users"] = Field(description="open: no token; token: one shared token (one "
                                                                "person); users: a users file")


class Progress(BaseModel):
    done: int
    left: int
    total: int
    skipped: int


class NextItem(BaseModel):
    item_id: str
    video: str = Field(description="the video's path relative to the data file (its name when it lies elsewhere)")
    video_url: str = Field(description="where the video is served (the item id URL-quoted)")
    image: str | None = Field(None, description="image-to-video: the conditioning image's path relative to the data "
                                                "file (its name when it lies elsewhere); null: none")
    image_url: str | None = Field(None, description="where the conditioning image is served; null: none")
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


class LabelShown(BaseModel):
    annotator: str
    answer: str
    reason_verdict: str | None
    reason: str | None


class Disagreement(BaseModel):
    item: NextItem
    labels: list[LabelShown]


class Skipped(BaseModel):
    item_id: str
    note: str | None = Field(description="why its video does not play (the video named relative to the data file)")


__all__ = ["AdjudicationIn", "AgreementOut", "Disagreement", "KappaOut", "LabelIn", "LabelOut", "LabelShown", "Me",
           "NextItem", "Progress", "Skipped"]
