"""Rubrics: which dimensions a video is scored in, their weights, and the questions each one asks.

A rubric is a YAML or JSON file (docs/rubric.md); FingER's five dimensions are the shipped default,
`src/fingereval/rubrics/finger.yaml`. Everything that names a dimension reads it from a `Rubric`:

    from fingereval.rubric import load_rubric
    rubric = load_rubric("my_rubric.yaml")       # or a shipped name: "finger", "camera_motion"
    rubric.keys, rubric.weights(), rubric.normalize("Camera motion"), rubric.ref()

A bad file is one DataError line naming the file, the line (YAML) and the field: "rubric file r.yaml
line 7: dimensions[1] (camera_motion).weight: Input should be greater than or equal to 0; ...".

A records module: it imports nothing of the package but its errors (fingereval.dimensions is its view of
the default rubric).
"""
from __future__ import annotations

import hashlib
import json
import re
import string
from functools import cached_property, lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from fingereval.errors import DataError

DEFAULT_RUBRIC = "finger"
HINT = "see docs/rubric.md for the format"
KEY_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"

# Which templates an entity gets: living beings, things that can move, things that stay put ("static"); "any"
# is the fallback for a kind a dimension does not list; "mover" templates go to the entities the prompt has move.
EntityKind = Literal["living", "thing", "static", "any", "mover"]
# The questions read off the prompt's own words (fingereval.ask.templates writes them in code).
PromptQuestionKind = Literal["presence", "main_subject", "attributes", "actions", "counts", "relations",
                             "quoted_text"]
PROMPT_QUESTION_KINDS: tuple[str, ...] = PromptQuestionKind.__args__
ENTITY_PLACEHOLDERS = frozenset({"Be", "Do", "the"})


def _yes_no(value: Any) -> Any:
    if isinstance(value, bool):  # YAML reads a bare yes / no as a boolean
        return "yes" if value else "no"
    return value.strip().lower() if isinstance(value, str) else value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class QuestionTemplate(_Strict):
    """A question and the answer a good video earns; entity templates say {the} (and {Be} / {Do})."""

    text: str = Field(min_length=3)
    good_answer: Literal["yes", "no"]

    _ga = field_validator("good_answer", mode="before")(_yes_no)

    def placeholders(self) -> set[str]:
        try:
            return {name for _, name, _, _ in string.Formatter().parse(self.text) if name is not None}
        except ValueError as e:  # a lone "{" or "}"
            raise ValueError(f"template {self.text!r}: {e} (write {{{{ and }}}} for a literal brace)") from None


class Example(_Strict):
    """An in-context example for the LLM generator, about the example prompt (docs/rubric.md)."""

    entity: str | None = None
    question: str = Field(min_length=3)
    good_answer: Literal["yes", "no"]

    _ga = field_validator("good_answer", mode="before")(_yes_no)


class Dimension(_Strict):
    """One dimension: its key, the name people read, what a good video does, and its weight in the overall."""

    key: str = Field(pattern=KEY_PATTERN)
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    weight: float = Field(ge=0, allow_inf_nan=False)
    aliases: tuple[str, ...] = ()  # other spellings that mean this dimension ("vq", "visual quality")
    guidance: str = ""  # what the LLM generator is told beyond the description
    examples: tuple[Example, ...] = ()  # in-context examples for the LLM generator
    entity_questions: dict[EntityKind, tuple[QuestionTemplate, ...]] = {}
    video_questions: tuple[QuestionTemplate, ...] = ()  # about the whole video
    video_questions_first: bool = False  # the whole-video questions before the entity questions
    per_entity_questions: int = Field(4, ge=0, le=12)  # questions spread over the entities (not movers)

    @model_validator(mode="after")
    def _templates_fit(self) -> "Dimension":
        for kind, templates in self.entity_questions.items():
            for t in templates:
                names = t.placeholders()
                if "the" not in names or not names <= ENTITY_PLACEHOLDERS:
                    raise ValueError(f"entity_questions.{kind}: template {t.text!r} must name the entity as "
                                     "{the} and may use only {Be}, {Do} and {the}")
        for t in self.video_questions:
            if t.placeholders():
                raise ValueError(f"video_questions: template {t.text!r} is about the whole video and takes no "
                                 "{placeholders}")
        return self


class PromptQuestions(_Strict):
    """Where the questions read off the prompt go (presence, attributes, actions, counts, relations, quoted
    text): the dimension that receives them, or null for none."""

    dimension: str | None = None
    include: tuple[PromptQuestionKind, ...] = PROMPT_QUESTION_KINDS


class RubricRef(BaseModel):
    """What a result records of the rubric it was scored with."""

    name: str
    sha256: str


class Rubric(_Strict):
    name: str = Field(min_length=1, max_length=100)
    description: str = ""
    dimensions: tuple[Dimension, ...] = Field(min_length=1)
    prompt_questions: PromptQuestions = PromptQuestions()
    # its questions ask about the conditioning image (image-to-video): scoring a video without one is refused,
    # since "does it look as in the image" has no answer without the image
    needs_image: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> "Rubric":
        seen: dict[str, str] = {}
        for d in self.dimensions:
            for spelling in (d.key, *(_spelling(a) for a in d.aliases)):
                if spelling in seen and seen[spelling] != d.key:
                    raise ValueError(f"{spelling!r} names two dimensions ({seen[spelling]} and {d.key}); "
                                     "give each dimension its own key and aliases")
                if spelling == d.key and spelling in seen:
                    raise ValueError(f"dimension key {d.key!r} is used twice; give each dimension its own key")
                seen[spelling] = d.key
        if not any(d.weight > 0 for d in self.dimensions):
            raise ValueError("every dimension has weight 0; give at least one a weight above 0")
        target = self.prompt_questions.dimension
        if target is not None and target not in {d.key for d in self.dimensions}:
            raise ValueError(f"prompt_questions.dimension {target!r} is not a dimension of this rubric; use one of "
                             f"{', '.join(d.key for d in self.dimensions)} or null")
        return self

    # ---- the views the rest of the package reads

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(d.key for d in self.dimensions)

    @cached_property
    def by_key(self) -> dict[str, Dimension]:
        return {d.key: d for d in self.dimensions}

    def weights(self) -> dict[str, float]:
        return {d.key: d.weight for d in self.dimensions}

    @cached_property
    def _spellings(self) -> dict[str, str]:
        out = {}
        for d in self.dimensions:
            out |= {_spelling(s): d.key for s in (d.name, *d.aliases)}
        return out | {d.key: d.key for d in self.dimensions}

    def normalize(self, name: object) -> str:
        """Our key for a dimension name or alias, or a DataError naming the rubric's keys and --rubric."""
        text = _spelling(str(name))
        key = next((self._spellings[t] for t in (text, text.replace("_", " "), text.replace(" ", "_"))
                    if t in self._spellings), None)
        if key is None:
            raise DataError(f"unknown dimension {str(name)!r}: the rubric {self.name!r} has "
                            f"{', '.join(self.keys)}; use one of them, or give --rubric a rubric file that defines it")
        return key

    @cached_property
    def sha256(self) -> str:
        """The hash of the rubric's content (canonical JSON): the same for the same rubric in YAML or JSON."""
        content = self.model_dump(mode="json")
        if not content["needs_image"]:  # a rubric that does not set it hashes as it did before the field existed
            del content["needs_image"]
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    def ref(self) -> RubricRef:
        return RubricRef(name=self.name, sha256=self.sha256)

    def check_questions(self, questions: list, where: str = "the questions") -> list:
        """The questions with their dimensions spelled as this rubric's keys; one DataError line for a question
        whose dimension the rubric does not have (naming it and --rubric)."""
        out = []
        for q in questions:
            try:
                key = self.normalize(q.dimension)
            except DataError as e:
                raise DataError(f"{where}: question {q.id!r}: {e}") from None
            out.append(q if key == q.dimension else q.model_copy(update={"dimension": key}))
        return out


def _spelling(text: str) -> str:
    return " ".join(str(text).lower().split())


# ---------------------------------------------------------------- reading a rubric file


def shipped_rubrics() -> list[str]:
    """Names of the rubrics shipped with the package (the files in fingereval/rubrics/)."""
    folder = _folder()
    return sorted(p.name.rsplit(".", 1)[0] for p in folder.iterdir() if p.name.endswith((".yaml", ".yml", ".json")))


def _folder():
    return resources.files("fingereval") / "rubrics"  # package data (pyproject's package-data), not a package


@lru_cache(maxsize=None)
def _shipped(name: str) -> Rubric:
    folder = _folder()
    for suffix in (".yaml", ".yml", ".json"):
        resource = folder / f"{name}{suffix}"
        if resource.is_file():
            return parse_rubric(resource.read_text(encoding="utf-8"), f"rubrics/{name}{suffix}",
                                json_file=suffix == ".json")
    raise DataError(f"no rubric {name!r}: give a rubric file, or one of the shipped rubrics "
                    f"({', '.join(shipped_rubrics())}); {HINT}")


def default_rubric() -> Rubric:
    """FingER's five dimensions (fingereval/rubrics/finger.yaml)."""
    return _shipped(DEFAULT_RUBRIC)


def load_rubric(source: "str | Path | Rubric | None" = None) -> Rubric:
    """A Rubric from a file (.yaml, .yml or .json), a shipped rubric's name, or None for the default."""
    if source is None:
        return default_rubric()
    if isinstance(source, Rubric):
        return source
    path = Path(source)
    if not path.exists() and re.fullmatch(r"[a-z0-9_]+", str(source)):
        return _shipped(str(source))
    from fingereval.io import read_text

    text = read_text(path, "rubric file", HINT)
    return parse_rubric(text, str(path), json_file=path.suffix.lower() == ".json")


def parse_rubric(text: str, where: str, json_file: bool = False) -> Rubric:
    """Validate a rubric's text; a DataError line naming `where`, the line and the field on bad input."""
    if json_file:
        data, node = _read_json(text, where), None
    else:
        data, node = _read_yaml(text, where)
    if not isinstance(data, dict):
        raise DataError(f"rubric file {where}: expected a mapping with name and dimensions, got "
                        f"{type(data).__name__}; {HINT}")
    try:
        return Rubric.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        loc = tuple(first["loc"])
        line = _line_of(node, loc) if node is not None else None
        place = f" line {line}" if line else ""
        field = _field_name(data, loc)
        if first["type"] == "missing":
            message = f"{field}: missing field {loc[-1]!r}" if len(loc) > 1 else f"missing field {loc[-1]!r}"
        else:
            message = f"{field}: {first['msg'].removeprefix('Value error, ')}" if field else \
                first["msg"].removeprefix("Value error, ")
        more = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
        raise DataError(f"rubric file {where}{place}: {message}{more}; {HINT}") from None


def _field_name(data: dict, loc: tuple) -> str:
    """"dimensions[1] (camera_motion).weight" for loc ("dimensions", 1, "weight"); the missing field left off."""
    parts, value = [], data
    for i, step in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(step, int):
            parts[-1] = f"{parts[-1]}[{step}]" if parts else f"[{step}]"
            value = value[step] if isinstance(value, list) and step < len(value) else None
            if isinstance(value, dict) and isinstance(value.get("key"), str):
                parts[-1] += f" ({value['key']})"
        else:
            if last and not (isinstance(value, dict) and step in value):
                break  # a missing field: named by the message
            parts.append(str(step))
            value = value.get(step) if isinstance(value, dict) else None
    return ".".join(parts)


def _read_json(text: str, where: str) -> Any:
    def no_repeats(pairs: list) -> dict:
        keys = [k for k, _ in pairs]
        repeated = next((k for k in keys if keys.count(k) > 1), None)
        if repeated is not None:
            raise DataError(f"rubric file {where}: the field {repeated!r} is given twice in one object; {HINT}")
        return dict(pairs)

    try:
        return json.loads(text, object_pairs_hook=no_repeats)
    except json.JSONDecodeError as e:
        raise DataError(f"rubric file {where} line {e.lineno}: not valid JSON ({e.msg} at column {e.colno}); "
                        f"{HINT}") from None


def _read_yaml(text: str, where: str) -> tuple[Any, Any]:
    """The data and the node tree (whose marks give each field's line); a repeated key is an error (PyYAML
    keeps the last one silently)."""
    import yaml

    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        node = yaml.compose(text, Loader=loader_class)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise DataError(f"rubric file {where}{line}: not valid YAML ({problem}); {HINT}") from None
    if node is None:
        raise DataError(f"rubric file {where}: the file is empty; {HINT}")
    _no_repeated_keys(node, where)
    loader = loader_class("")
    try:
        return loader.construct_document(node), node
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise DataError(f"rubric file {where}{line}: {getattr(e, 'problem', e)}; {HINT}") from None
    finally:
        loader.dispose()


def _no_repeated_keys(node: Any, where: str) -> None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        seen: set = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    raise DataError(f"rubric file {where} line {key.start_mark.line + 1}: the field {key.value!r} "
                                    f"is given twice; {HINT}")
                seen.add(key.value)
            _no_repeated_keys(value, where)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _no_repeated_keys(item, where)


def _line_of(node: Any, loc: tuple) -> int | None:
    """The 1-based line of the deepest node on `loc` that the YAML holds."""
    import yaml

    line = node.start_mark.line + 1
    for step in loc:
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == step), None)
            if found is None:
                return line
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
            node = node.value[step]
        else:
            return line
        line = node.start_mark.line + 1
    return line
