"""The one-call Python API: ask, answer, score, explain.

    from fingereval import Evaluator
    ev = Evaluator(model="Qwen/Qwen2.5-VL-7B-Instruct")
    result = ev.score("clip.mp4", "Two men shake hands in a modern office")
    print(result.overall, result.dimensions)
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Mapping

from fingereval.answer.base import Answerer
from fingereval.errors import ConfigError, DataError
from fingereval.image import ConditioningImage, load_image
from fingereval.limits import InputLimits
from fingereval.schema import ImageRecord, QuestionSet, VideoResult
from fingereval.rubric import Rubric, load_rubric
from fingereval.score.aggregate import check_weights, video_result
from fingereval.score.calibration import Calibration, load_calibration
from fingereval.video import VideoClip, VideoConfig, load_video


class Evaluator:
    """Ask, answer and score. `answerer` is a registered name (built with `model`, `video_config` and the other
    keyword options, e.g. device, dtype, shared_prefix, max_new_tokens for "transformers") or an Answerer."""

    def __init__(self, model: str | Path | None = None, *, answerer: str | Answerer = "transformers",
                 reason: bool = False, generator: str = "templates", generator_options: Mapping | None = None,
                 weights: Mapping[str, float] | str | Path | None = None, video_config: VideoConfig | None = None,
                 calibration: Calibration | str | Path | None = None, limits: InputLimits | None = None,
                 rubric: Rubric | str | Path | None = None, **answerer_options):
        self.rubric = load_rubric(rubric)  # the dimensions, their weights and templates; before any model loads
        if isinstance(answerer, str):
            from fingereval.answer import get_answerer

            given = {"model": model, "video_config": video_config}
            answerer = get_answerer(answerer, **{k: v for k, v in given.items() if v is not None}, **answerer_options)
        elif model is not None or video_config is not None or answerer_options:
            raise ValueError("give an Answerer object or the options to build one by name, not both")
        self.answerer = answerer
        self.reason = reason
        self.generator_name = generator
        self.generator_options = dict(generator_options or {})
        self._generator = None
        self.weights_source = "the weights"
        if isinstance(weights, (str, Path)):
            from fingereval.score.weights import load_weights

            self.weights_source = f"the weights in {weights}"
            weights = load_weights(weights, self.rubric)
        self.weights = dict(weights) if weights else None
        self.calibration_source = str(calibration) if isinstance(calibration, (str, Path)) else None
        self.calibration = load_calibration(calibration) if isinstance(calibration, (str, Path)) else calibration
        self.limits = limits or InputLimits()  # caps checked before the model: none unless given

    @property
    def model_id(self) -> str:
        return self.answerer.model_id

    def questions(self, prompt: str) -> QuestionSet:
        """Entity-level yes/no questions for a prompt, from the configured generator."""
        if self._generator is None:
            from fingereval.ask import get_generator

            self._generator = get_generator(self.generator_name, rubric=self.rubric, **self.generator_options)
        return self._generator.generate(prompt)

    def score(self, video: str | Path, prompt: str | None = None, questions: QuestionSet | None = None, *,
              reason: bool | None = None, item_id: str | None = None, limits: InputLimits | None = None,
              before_model: Callable[[], None] | None = None,
              decoded: Callable[[], VideoClip] | None = None,
              image: str | Path | ConditioningImage | None = None) -> VideoResult:
        """Score one video. Give the prompt (questions are generated) or a question set (or both). For an
        image-to-video clip, `image` is the image it was generated from: the model sees it before the video, and
        the result records it (path and sha256).

        `limits` (default: the evaluator's) are checked before the model sees anything: the prompt's length, the
        number of questions, the video's decoded length (LimitExceeded). `before_model` runs after the video is
        decoded and before the model answers; what it raises ends the scoring there (a service drops a job
        whose client left). `decoded` gives the clip decoded ahead (fingereval.decode_ahead), called where the
        video would be decoded, so that a decoding error is raised at the same point."""
        limits = limits or self.limits
        if image is None and self.rubric.needs_image:  # before any question is written (an LLM generator's call)
            raise DataError(f"the rubric {self.rubric.name!r} asks about the image the video was generated from: "
                            "give it (--image, a manifest's image column, the service's image or image_path), "
                            "or score with a rubric that does not")
        if prompt is not None:
            limits.check_prompt(prompt)
        if questions is None:
            if prompt is None:
                raise ValueError("score() needs a prompt or a question set")
            questions = self.questions(prompt)
        prompt = prompt if prompt is not None else questions.prompt
        limits.check_questions(questions.questions)
        use_reason = self.reason if reason is None else reason
        # before the video is decoded and the model runs: weights that cover none of these dimensions are an error
        asked = self.rubric.check_questions(questions.questions, "the questions")  # in the rubric's dimensions
        questions = questions.model_copy(update={"questions": asked})
        check_weights({q.dimension for q in asked}, self.weights, self.weights_source, self.rubric)
        if image is not None and not getattr(self.answerer, "takes_image", False):
            raise ConfigError(f"the {self.answerer.name!r} answerer does not show the model a conditioning image; "
                              "score without --image, or use the transformers or openai answerer")
        clip = decoded() if decoded is not None else load_video(video, self.answerer.video_config, limits)  # once
        if image is not None:
            clip = self._with_image(clip, image)
        if before_model is not None:
            before_model()
        answers = self.answerer.answer(clip, questions.questions, reason=use_reason)
        if self.calibration is not None:  # before polarity: every score and dimension rests on calibrated p_yes
            answers = [replace(a, p_yes=self.calibration.apply(a.p_yes)) for a in answers]
        result = video_result(str(video), prompt, questions.questions, answers, weights=self.weights,
                              rubric=self.rubric, model=self.model_id, reason=use_reason, item_id=item_id, clip=clip)
        if self.calibration is not None:
            result.calibration = self.calibration.record(self.calibration_source)
        if clip.image is not None:
            result.image = ImageRecord(**clip.image.record())
        return result

    def _with_image(self, clip: VideoClip, image: str | Path | ConditioningImage) -> VideoClip:
        """`clip` with its conditioning image (decoded ahead with it already when the paths agree), resized as its
        frames are."""
        if not isinstance(image, ConditioningImage):
            if clip.image is not None and clip.image.path == str(image):
                return clip
            image = load_image(image, self.answerer.video_config.frame_shape)
        return replace(clip, image=image)
