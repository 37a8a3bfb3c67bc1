"""Errors a user can cause. Each message says what went wrong with which item and what to do."""


class FingerEvalError(Exception):
    """Base class: the CLI prints these as one line and exits non-zero (or records them in a batch)."""

    @property
    def kind(self) -> str:
        return type(self).__name__


class VideoError(FingerEvalError):
    """A video file is missing, empty, truncated, not a video, or has no frames."""


class DataError(FingerEvalError):
    """A data file (JSONL, questions file, weights file) is malformed."""


class ModelOutputError(FingerEvalError):
    """A model's output could not be parsed (for example no answer tag)."""


class ConfigError(FingerEvalError):
    """A backend is not configured (for example no LLM endpoint) or a model cannot be loaded."""


class WorkerError(FingerEvalError):
    """Every batch worker died or could not start, so the rest of the batch cannot be scored."""
