"""What crosses the service's boundary: its settings, the request bodies and the error shape (pydantic)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model, model_validator

from fingereval.decode_ahead import DEFAULT_DEPTH, DEFAULT_WORKERS
from fingereval.dimensions import DIMENSION_KEYS
from fingereval.limits import InputLimits
from fingereval.schema import ErrorInfo, VideoResult
from fingereval.web import ConnectionLimits


class ServeSettings(BaseModel):
    """The service's limits (docs/serve.md, "Security"); the scoring itself is the Evaluator's (ScoringConfig)."""

    model_config = ConfigDict(extra="forbid")

    token: str | None = None  # Bearer token every /v1/ route needs; None: no check (loopback only, see the CLI)
    max_body_mb: float = Field(64.0, gt=0)
    allow_dir: Path | None = None  # video_path must resolve inside it; None: video_path is always refused
    max_queue: int = Field(64, ge=1)  # videos waiting for the model; one more gets 503
    timeout: float = Field(300.0, gt=0)  # seconds a request may wait for its result (queue + model); then 504
    max_batch: int = Field(8, ge=1)  # waiting videos the model worker takes at once
    videos_at_once: int = Field(1, ge=1)  # of those, scored together from threads (for answerers that wait on a server)
    decode_ahead: int = Field(DEFAULT_DEPTH, ge=0)  # videos decoded while the model works on one (0: each decoded in line)
    decode_workers: int = Field(DEFAULT_WORKERS, ge=1)  # threads decoding them
    max_items: int = Field(64, ge=1)  # items in one score_batch request
    temp_dir: Path | None = None  # where uploaded videos are written while scored (default: a fresh system temp dir)
    # caps checked before the model (422 LimitExceeded naming the option)
    max_questions: int = Field(64, ge=1)  # questions per video, given or generated
    max_prompt_chars: int = Field(4000, ge=1)  # characters of a prompt
    max_video_seconds: float = Field(600.0, gt=0)  # seconds of video decoded per item
    max_video_frames: int = Field(18000, ge=1)  # frames decoded per item (10 minutes at 30 fps)
    max_video_pixels: float = Field(4e10, gt=0)  # pixels decoded per item (10 minutes of 1080p at 30 fps)
    # connections (fingereval.web)
    header_timeout: float = Field(10.0, gt=0)  # seconds for a request's headers to arrive; then 408 and closed
    body_timeout: float = Field(120.0, gt=0)  # seconds for the whole body to arrive; then 408 and closed
    max_connections: int = Field(64, ge=1)  # open at once; one more is answered 503 and closed

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 1024 * 1024)

    def input_limits(self) -> InputLimits:
        return InputLimits(max_questions=self.max_questions, max_prompt_chars=self.max_prompt_chars,
                           max_video_seconds=self.max_video_seconds, max_video_frames=self.max_video_frames,
                           max_video_pixels=self.max_video_pixels, max_videos=self.max_items)

    def connection_limits(self) -> ConnectionLimits:
        return ConnectionLimits(header_timeout=self.header_timeout, max_connections=self.max_connections)


# the questions file's question objects, documented for the OpenAPI schema; validated by QuestionSet in the handler
# so that an unknown dimension or a duplicate id gets the same one-line DataError as a questions file
QUESTION_SCHEMA = {
    "type": "object",
    "required": ["id", "dimension", "text", "good_answer"],
    "properties": {
        "id": {"type": "string"},
        "dimension": {"type": "string", "enum": list(DIMENSION_KEYS),
                      "description": "one of the five dimension keys (their names, e.g. `visual quality`, work too)"},
        "entity": {"type": ["string", "null"]},
        "text": {"type": "string", "description": "the yes/no question (also accepted as `question`)"},
        "good_answer": {"type": "string", "enum": ["yes", "no"]},
    },
}
QuestionList = Annotated[list[dict[str, Any]], WithJsonSchema({"type": "array", "items": QUESTION_SCHEMA, "minItems": 1})]


MAX_PATH = 4096  # characters of a video_path (Linux's PATH_MAX): a longer one is 422 before any file call


class ScoreRequest(BaseModel):
    """One video: its bytes as base64 in `video`, or `video_path` inside the service's --allow-dir; for an
    image-to-video clip, its conditioning image the same two ways (`image`, `image_path`)."""

    # the schema says what the validator below checks: exactly one of the two
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "oneOf": [{"required": ["video"]}, {"required": ["video_path"]}],
        "not": {"required": ["image", "image_path"]}})

    prompt: str = Field(description="the text prompt the video was generated from")
    video: Annotated[str | None, WithJsonSchema({"type": "string", "format": "byte"})] = Field(
        None, description="base64 of the video file's bytes")
    # lengths are checked by the handler, not by pydantic, which refuses a lone surrogate ("\udce9") it must count
    video_path: Annotated[str | None, WithJsonSchema({"type": "string", "maxLength": MAX_PATH})] = Field(
        None, description="a video file inside the service's --allow-dir (relative paths are taken from there)")
    video_name: str | None = Field(None, max_length=255, description="a name for an uploaded video: the result's "
                                   "`video` field (the format is read from the bytes, never from this name; "
                                   "default upload.mp4)")
    image: Annotated[str | None, WithJsonSchema({"type": "string", "format": "byte"})] = Field(
        None, description="image-to-video: base64 of the image the video was generated from (PNG, JPEG, WebP), shown "
        "to the model before the video")
    image_path: Annotated[str | None, WithJsonSchema({"type": "string", "maxLength": MAX_PATH})] = Field(
        None, description="image-to-video: the image file inside the service's --allow-dir, instead of `image`")
    image_name: str | None = Field(None, max_length=255, description="a name for an uploaded image: the result's "
                                   "`image.path` (default upload.png; the format is read from the bytes)")
    questions: QuestionList | None = Field(None, description="question objects as in a questions file "
                                           "(else generated from the prompt)")
    reason: bool | None = Field(None, description="write <think> reasons first (default: the service's setting)")
    id: str | None = Field(None, description="echoed in the result's `id`")

    @model_validator(mode="after")
    def _one_video(self) -> "ScoreRequest":
        if (self.video is None) == (self.video_path is None):
            raise ValueError("give exactly one of `video` (base64 of the file) and `video_path`")
        if self.image is not None and self.image_path is not None:
            raise ValueError("give at most one of `image` (base64 of the file) and `image_path`")
        return self


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[ScoreRequest] = Field(min_length=1, description="scored together; a failed item gets an error object")


def batch_request(max_items: int) -> type[BatchRequest]:
    """BatchRequest with the service's item limit in its schema (so a client and the fuzzer see it)."""
    return create_model("BatchRequest", __base__=BatchRequest, items=(list[ScoreRequest], Field(
        min_length=1, max_length=max_items, description=f"at most {max_items}, scored together; a failed item "
        "gets an error object in its place")))


class ErrorResponse(BaseModel):
    """Every error the service answers: `{"error": {"type": ..., "message": ...}}`, never a traceback."""

    error: ErrorInfo


class BatchResponse(BaseModel):
    results: list[VideoResult] = Field(description="in the order of the items; a failed item carries `error` "
                                       "(and id, video, prompt, model) instead of scores")


class HealthResponse(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    status: str
    model: str
    queued: int = Field(description="videos waiting for the model worker")
    busy: bool = Field(description="the model worker is scoring")
