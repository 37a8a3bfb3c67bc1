"""Who is using the annotation app: the people of a users file, or the one person of the shared token.

A users file (YAML or JSON) names each person, their own token and their role:

    users:
      - {name: ann, token: "9c1f...", role: annotator}
      - {name: judge, token: "77ab...", role: adjudicator}

A label is then attributed to the person whose token (or login) sent it, and only adjudicators
adjudicate. Without a users file the app has one person: the holder of `--token` (or, without a
token, whoever reaches the loopback address); that person names the annotator on each request.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from fingereval.errors import DataError
from fingereval.io import read_text
from fingereval.web import token_matches

Role = Literal["annotator", "adjudicator"]
MIN_TOKEN_CHARS = 16  # a token shorter than this could be guessed within the login attempt limit's lifetime


def _printable(value: str, what: str) -> str:
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(f"{what} must not hold control characters (tabs, newlines)")
    return value


class User(BaseModel):
    """One entry of a users file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=100)
    token: str = Field(min_length=MIN_TOKEN_CHARS, max_length=512, repr=False)
    role: Role

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = _printable(value.strip(), "name")
        if not value:
            raise ValueError("name must not be blank")
        return value

    @field_validator("token")
    @classmethod
    def _token(cls, value: str) -> str:
        if value != value.strip() or any(c.isspace() for c in value):
            raise ValueError("token must not hold spaces")
        return _printable(value, "token")


class _UsersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    users: list[User] = Field(min_length=1)


@dataclass(frozen=True)
class Person:
    """Who sent a request. `name` is None for the one person of the shared token (or of an open app):
    they name the annotator on each request."""

    name: str | None
    role: Role


ONE_PERSON = Person(None, "adjudicator")


def _entry_name(raw: Any, index: int) -> str:
    entries = raw.get("users") if isinstance(raw, dict) else None
    entry = entries[index] if isinstance(entries, list) and index < len(entries) else None
    name = entry.get("name") if isinstance(entry, dict) else None
    return f"entry {index + 1}" + (f" (name {str(name)[:100]!r})" if isinstance(name, str) else "")


def _users_error(path: Path, raw: Any, error: ValidationError) -> DataError:
    """One line naming the first bad entry and what is wrong with it (never the token itself)."""
    first = error.errors()[0]
    loc = list(first["loc"])
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "missing":
        msg = "missing"
    if len(loc) >= 2 and loc[0] == "users" and isinstance(loc[1], int):
        field = ".".join(str(x) for x in loc[2:])
        where = _entry_name(raw, loc[1]) + (f": {field}" if field else "")
    else:
        where = ".".join(str(x) for x in loc) or "the file"
    more = f" (and {error.error_count() - 1} more problems)" if error.error_count() > 1 else ""
    return DataError(f"users file {path}: {where}: {msg}{more}; fix that entry (each needs name, token of at least "
                     f"{MIN_TOKEN_CHARS} characters, and role annotator or adjudicator)")


def load_users(path: str | Path) -> list[User]:
    """The users of a YAML or JSON file `{"users": [{name, token, role}, ...]}`; DataError with one line
    naming the bad entry otherwise (names and tokens must each be unique)."""
    p = Path(path)
    text = read_text(p, "users file", hint="give a YAML or JSON file of users (name, token, role)")
    try:
        raw = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as e:
        raise DataError(f"users file {p} is not valid JSON ({e.msg} at line {e.lineno})") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise DataError(f"users file {p} is not valid YAML{where}; it should hold `users:` and a list of entries") from None
    if not isinstance(raw, dict):
        raise DataError(f"users file {p} holds a {type(raw).__name__}, not a mapping with `users:`; "
                        "write `users:` and a list of {name, token, role} entries")
    try:
        users = _UsersFile.model_validate(raw).users
    except ValidationError as e:
        raise _users_error(p, raw, e) from None
    _check_unique(p, users)
    return users


def _check_unique(path: Path, users: list[User]) -> None:
    names: dict[str, int] = {}
    tokens: dict[str, int] = {}
    for i, user in enumerate(users):
        if user.name in names:
            raise DataError(f"users file {path}: entry {i + 1} (name {user.name!r}) repeats the name of entry "
                            f"{names[user.name] + 1}; give each person their own name")
        if user.token in tokens:
            raise DataError(f"users file {path}: entry {i + 1} (name {user.name!r}) has the same token as entry "
                            f"{tokens[user.token] + 1}; give each person their own token")
        names[user.name], tokens[user.token] = i, i


class People:
    """Token -> person, for the app's mode: `users` (a users file), `token` (one shared token) or `open`."""

    def __init__(self, token: str | None = None, users: list[User] | None = None):
        if token is not None and users is not None:
            raise ValueError("give a shared token or a users file, not both")
        self._users = list(users or [])
        self._token = token
        self.mode: Literal["open", "token", "users"] = "users" if users is not None else (
            "token" if token is not None else "open")
        self._by_name = {user.name: user for user in self._users}

    @property
    def guarded(self) -> bool:
        return self.mode != "open"

    def by_token(self, given: str | bytes) -> Person | None:
        """The person whose token this is, compared in constant time with every token (no early exit)."""
        given_bytes = given.encode("utf-8", "surrogateescape") if isinstance(given, str) else given
        if self.mode == "token":
            assert self._token is not None
            return ONE_PERSON if token_matches(given_bytes, self._token) else None
        found = None
        for user in self._users:
            if token_matches(given_bytes, user.token):
                found = user
        return None if found is None else Person(found.name, found.role)

    def by_name(self, name: str | None) -> Person | None:
        """The person a session was opened for (None: the one person of the shared token)."""
        if name is None:
            return ONE_PERSON if self.mode != "users" else None
        user = self._by_name.get(name)
        return None if user is None else Person(user.name, user.role)


__all__ = ["ONE_PERSON", "People", "Person", "Role", "User", "load_users"]
