"""The client of `fingereval serve`: score videos over HTTP from a trainer or a pipeline, without torch.

    from fingereval.client import ScoreClient
    with ScoreClient("http://127.0.0.1:8000", token="...") as client:
        result = client.score("clip.mp4", "Two men shake hands in a modern office")
        print(result.overall, result.dimensions)

A video is a path (its bytes are uploaded; `as_path=True` sends the path for the service to read inside its
--allow-dir instead) or the file's bytes. Every error the service answers becomes a ScoreError carrying its
HTTP status and the service's error type and message; a full queue (503) is retried after its Retry-After.
"""
from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any, Iterable, Mapping

import httpx

from fingereval.schema import ErrorInfo, Question, QuestionSet, VideoResult

Video = str | Path | bytes
MAX_RETRY_WAIT = 30.0  # seconds: a Retry-After longer than this is cut to it


class ScoreError(Exception):
    """The service refused or failed a request: `status` (None when it was not reached), `type`, `message`."""

    def __init__(self, status: int | None, type: str, message: str):
        super().__init__(f"{type} (HTTP {status}): {message}" if status else f"{type}: {message}")
        self.status, self.type, self.message = status, type, message

    @property
    def error(self) -> ErrorInfo:
        return ErrorInfo(type=self.type, message=self.message)


class ScoreClient:
    def __init__(self, url: str, token: str | None = None, *, timeout: float = 330.0, retries: int = 2):
        """`timeout`: seconds per request (a little over the service's default --timeout of 300); `retries`: how
        often a 503 (queue full) is retried after the seconds its Retry-After names."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url = url.rstrip("/")
        self.retries = retries
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def __enter__(self) -> "ScoreClient":
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def health(self) -> dict:
        """{"status": "ok", "model": ..., "queued": ..., "busy": ...}."""
        return self._request("GET", "/health").json()

    def score(self, video: Video, prompt: str, questions: QuestionSet | Iterable[Question | Mapping] | None = None,
              reason: bool | None = None, id: str | None = None, *, as_path: bool = False,
              image: Video | None = None) -> VideoResult:
        """One video's result, the same record `fingereval score --json` prints; ScoreError when it fails. `image`:
        an image-to-video clip's conditioning image (bytes or a file, sent as the video is)."""
        body = score_item(video, prompt, questions, reason, id, as_path=as_path, image=image)
        return VideoResult.model_validate_json(self._request("POST", "/v1/score", json=body).content)

    def score_batch(self, items: Iterable[Mapping[str, Any]], *, as_path: bool = False) -> list[VideoResult]:
        """Several videos in one request; each item is a dict of score()'s arguments (video, prompt, questions,
        reason, id). A failed item comes back with `error` set instead of scores; the others are scored."""
        body = {"items": [score_item(as_path=as_path, **dict(item)) for item in items]}
        results = self._request("POST", "/v1/score_batch", json=body).json()["results"]
        return [VideoResult.model_validate(r) for r in results]

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        for attempt in range(self.retries + 1):
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TimeoutException as e:
                raise ScoreError(None, "Timeout", f"no answer from {self.url} in time ({e})") from None
            except httpx.TransportError as e:
                raise ScoreError(None, "ConnectionError", f"cannot reach the scoring service at {self.url} ({e}); "
                                 "is `fingereval serve` running there?") from None
            if response.status_code == 503 and attempt < self.retries:
                time.sleep(_retry_after(response))
                continue
            if response.is_success:
                return response
            raise _error(response)
        raise AssertionError("unreachable")  # the loop returns or raises


def score_item(video: Video, prompt: str, questions: QuestionSet | Iterable[Question | Mapping] | None = None,
               reason: bool | None = None, id: str | None = None, *, as_path: bool = False,
               image: Video | None = None) -> dict:
    """The JSON body of one video for /v1/score (an item of /v1/score_batch), with its conditioning image if any."""
    body: dict[str, Any] = {"prompt": prompt}
    _media(body, "video", video, as_path)
    if image is not None:
        _media(body, "image", image, as_path)
    if questions is not None:
        qs = questions.questions if isinstance(questions, QuestionSet) else questions
        body["questions"] = [q.model_dump(mode="json") if isinstance(q, Question) else dict(q) for q in qs]
    if reason is not None:
        body["reason"] = reason
    if id is not None:
        body["id"] = id
    return body


def _media(body: dict[str, Any], field: str, media: Video, as_path: bool) -> None:
    """`field` (video, image) of a request: base64 of bytes or a file's content, or the path with `as_path`."""
    if isinstance(media, (bytes, bytearray, memoryview)):
        body[field] = base64.b64encode(bytes(media)).decode("ascii")
    elif as_path:
        body[f"{field}_path"] = str(media)
    else:
        body[field] = base64.b64encode(Path(media).read_bytes()).decode("ascii")
        body[f"{field}_name"] = Path(media).name


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(MAX_RETRY_WAIT, max(0.0, float(response.headers.get("Retry-After", "1"))))
    except ValueError:  # an HTTP date instead of seconds
        return 1.0


def _error(response: httpx.Response) -> ScoreError:
    """The service's {"error": {"type", "message"}}, or the status line when the body is something else."""
    try:
        error = response.json()["error"]
        return ScoreError(response.status_code, str(error["type"]), str(error["message"]))
    except (ValueError, KeyError, TypeError):
        return ScoreError(response.status_code, "HTTPError", response.text[:200] or response.reason_phrase)
