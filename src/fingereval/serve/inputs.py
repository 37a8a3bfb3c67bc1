"""A request made into a job: its questions (generated here, off the model worker) and the file to open, with
every cap and check that needs no model done here, before the job takes a place in the queue.

An uploaded video is written to a temp file (no suffix: the decoder reads the format from the bytes) that the
job's future removes when it is done, whatever the end (scored, failed, timed out, or its client gone). A
`video_path` is resolved (symlinks and `..`) and must land inside the allow-dir. Either is then checked as a
video (fingereval.video's container gate, and its decoded length against the caps). An image-to-video request's
conditioning image (`image` / `image_path`) goes the same two ways and through fingereval.image's gate (an allowed
format by its bytes, the pixel cap read from the header) before the job is queued.
"""
from __future__ import annotations

import base64
import binascii
import os
import tempfile
import threading
from pathlib import Path

from pydantic import ValidationError

from fingereval.errors import DataError, FingerEvalError, VideoError
from fingereval.image import check_image
from fingereval.io import validation_message
from fingereval.limits import InputLimits
from fingereval.schema import QuestionSet
from fingereval.serve.models import MAX_PATH, ScoreRequest
from fingereval.serve.worker import Job
from fingereval.text import repair, repair_json
from fingereval.video import check_video

DEFAULT_UPLOAD_NAME = "upload.mp4"
DEFAULT_IMAGE_NAME = "upload.png"


class ServiceError(Exception):
    """An error with its HTTP status, answered as {"error": {"type", "message"}}."""

    def __init__(self, status: int, kind: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.kind, self.headers = status, kind, headers


def error_status(e: Exception) -> tuple[int, str]:
    """(HTTP status, error type) of a failure while preparing or scoring one item."""
    if isinstance(e, ServiceError):
        return e.status, e.kind
    if isinstance(e, (VideoError, DataError)):
        return 422, e.kind  # the request's video or questions: the client can fix it
    if isinstance(e, FingerEvalError):
        return 500, e.kind
    return 500, "InternalError"


class JobMaker:
    def __init__(self, evaluator, allow_dir: Path | None, temp_dir: Path | None, limits: InputLimits):
        self.evaluator = evaluator
        self.allow_dir = allow_dir.resolve(strict=True) if allow_dir is not None else None
        self.temp_dir = temp_dir  # set by the app's lifespan when None here
        self.limits = limits
        self._ask_lock = threading.Lock()  # a generator (a local LLM) is built once and used by one thread at a time

    def make(self, req: ScoreRequest) -> Job:
        """The job for one request (blocking: call it from a thread). Raises ServiceError, VideoError, DataError
        (LimitExceeded included)."""
        prompt = repair(req.prompt)[0]  # a lone surrogate in the JSON ("\udce9") cannot be written back as UTF-8
        self.limits.check_prompt(prompt)
        questions = self._questions(prompt, req)
        self.limits.check_questions(questions.questions)
        item_id = None if req.id is None else repair(req.id)[0]
        image, image_name, made = self._image(req)
        try:
            if req.video_path is not None:
                name, path = repair(req.video_path)[0], self._allowed(req.video_path)
            else:
                name = repair(req.video_name or DEFAULT_UPLOAD_NAME)[0]
                path = self._write_upload(req.video, name)
                made.append(path)
            self._check_video(path, name)
        except BaseException:
            for p in made:
                p.unlink(missing_ok=True)
            raise
        job = Job(path, name, prompt, questions, req.reason, item_id, image=image, image_name=image_name)
        for p in made:  # the uploads live as long as the job
            job.future.add_done_callback(lambda _, p=p: p.unlink(missing_ok=True))
        return job

    def _image(self, req: ScoreRequest) -> tuple[Path | None, str | None, list[Path]]:
        """(the conditioning image's file, its name in the result, the temp files written) of a request, checked
        by fingereval.image's gate; (None, None, []) without one."""
        if req.image_path is not None:
            name, path = repair(req.image_path)[0], self._allowed(req.image_path, "image_path", "image")
            self._check_image(path, name)
            return path, name, []
        if req.image is None:
            return None, None, []
        name = repair(req.image_name or DEFAULT_IMAGE_NAME)[0]
        path = self._write_upload(req.image, name, "image")
        try:
            self._check_image(path, name)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return path, name, [path]

    def _check_image(self, path: Path, name: str) -> None:
        try:
            check_image(path)
        except VideoError as e:  # fingereval.image.ImageError: named as the client named the image
            raise type(e)(f"image: {str(e).replace(str(path), name)}") from None

    def _check_video(self, path: Path, name: str) -> None:
        """The container gate and the length caps, before the queue; the message names the video as the client did."""
        try:
            check_video(path, self.limits)
        except (VideoError, DataError) as e:
            raise type(e)(str(e).replace(str(path), name)) from None

    def _questions(self, prompt: str, req: ScoreRequest) -> QuestionSet:
        if req.questions is not None:
            try:
                questions = repair_json(req.questions)[0]  # lone surrogates, as in the prompt
                return QuestionSet.model_validate({"prompt": prompt, "questions": questions},
                                                  context={"rubric": getattr(self.evaluator, "rubric", None)})
            except DataError as e:  # from a validator: an unknown dimension, a duplicate id
                raise DataError(f"questions: {e}") from None
            except ValidationError as e:  # its fields are named from the set down ("questions.0.text")
                raise DataError(validation_message(e)) from None
        if not prompt.strip():
            raise DataError("the prompt is empty: give the prompt of the video, or the questions to ask")
        with self._ask_lock:
            return self.evaluator.questions(prompt)

    def _allowed(self, given: str, field: str = "video_path", what: str = "video") -> Path:
        """The file `given` names inside the allow-dir, resolved; 403 outside it. Whatever the path holds (a loop, a
        name too long, a NUL byte, a FIFO, a device) ends in a 4xx here or in the container gate, never a 500.
        `field` and `what` name the request's field and its file in the messages (video_path, image_path)."""
        if self.allow_dir is None:
            raise ServiceError(403, "Forbidden", f"this service reads no files (started without --allow-dir); "
                               f"send the {what}'s bytes base64-encoded in `{what}`")
        if len(given) > MAX_PATH:
            raise VideoError(f"{field} has {len(given)} characters, more than a path can ({MAX_PATH}); give the "
                             f"path of {'an image' if what == 'image' else 'a video'} file")
        try:
            path = (self.allow_dir / given).resolve()  # an absolute `given` stays itself
        except RuntimeError:  # Python 3.11 resolves a symlink loop to this
            raise VideoError(f"{field} runs into a symlink loop; give the path of a {what} file") from None
        except (OSError, ValueError):  # a NUL byte, a name the system refuses
            raise ServiceError(403, "Forbidden", f"{field} does not name a file inside the allowed folder") from None
        if not path.is_relative_to(self.allow_dir):
            raise ServiceError(403, "Forbidden", f"{field} resolves outside the allowed folder; give a path inside "
                               f"it, or send the {what}'s bytes in `{what}`")
        return path

    def _write_upload(self, data: str, name: str, what: str = "video") -> Path:
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise VideoError(f"{name}: `{what}` is not valid base64; send the file's bytes base64-encoded") from None
        fd, tmp = tempfile.mkstemp(prefix="upload-", dir=self.temp_dir)  # no suffix: the bytes decide the format
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(raw)
        except BaseException:  # a full disk: nothing is left behind
            Path(tmp).unlink(missing_ok=True)
            raise
        return Path(tmp)
