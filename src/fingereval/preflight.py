"""Every input checked before a model loads: the files open, the prompt is there, the weights file reads, the
model's files are reachable. A mistake is named in a second, not after the minute a 7B model takes to load."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fingereval.batch import ManifestItem, read_manifest
from fingereval.errors import DataError, VideoError
from fingereval.image import check_image
from fingereval.video import check_video

OPENED_AT_MOST = 64  # a manifest's first videos are opened; the rest only looked up (opening 100k takes minutes)


def check_model_files(config) -> None:
    """The in-process answerer's checkpoint folder or hub id (a served model is the server's business)."""
    if config.answerer.strip().lower() == "transformers":
        from fingereval.answer.hub import check_model

        check_model(config.model)


def check_config_files(config) -> None:
    if config.weights is not None:
        from fingereval.score.weights import load_weights

        load_weights(config.weights, config.rubric)
    if config.calibration is not None:
        from fingereval.score.calibration import load_calibration

        load_calibration(config.calibration)


def check_one_video(config, video: Path, prompt: str | None, questions=None, image: Path | None = None) -> None:
    """The video opens (and is within the caps of config.limits), the conditioning image (if any) opens, the prompt
    is there and within its cap, a given question set is within its cap; then the side files and the model's files."""
    if questions is None and not (prompt or "").strip():
        raise ValueError("give --prompt (or --questions with a prompt in it)")
    limits = config.limits
    if prompt is not None:
        limits.check_prompt(prompt, "--prompt")
    if questions is not None:
        limits.check_questions(questions.questions, "--questions")
    check_video(video, limits)
    if image is not None:
        check_image(image)
    check_config_files(config)
    check_model_files(config)


def check_manifest(config, manifest: Path, on_warning: Callable[[str], None] = print, *,
                   model_here: bool = True) -> int:
    """A manifest with at least one good line, whose videos are mostly there; returns its good items.
    Missing videos are warned about (each will be recorded as a failure); none usable is an error."""
    items = [item for _, item in read_manifest(manifest, on_warning=lambda _m: None) if isinstance(item, ManifestItem)]
    if not items:
        raise DataError(f"manifest {manifest}: no usable line (each needs `video` and `prompt`); see "
                        "`fingereval score --help` for its format")
    unreadable = []
    for i, item in enumerate(items):
        try:
            if i < OPENED_AT_MOST:
                check_video(item.video)
                if item.image is not None:
                    check_image(item.image)
            elif not Path(item.video).is_file():
                raise VideoError(f"{item.video}: file not found; check the path")
        except VideoError as e:
            unreadable.append(str(e))
    if len(unreadable) == len(items):
        raise VideoError(f"manifest {manifest}: none of its {len(items)} videos can be opened (first: "
                         f"{unreadable[0]}); paths in a manifest are relative to the manifest's folder")
    if unreadable:
        on_warning(f"{len(unreadable)} of {len(items)} videos in {manifest} cannot be opened and will be recorded as "
                   f"failures (first: {unreadable[0]})")
    check_config_files(config)
    if model_here:
        check_model_files(config)
    return len(items)
