"""The annotation app's settings: who may use it, how many annotators per item, and its limits.

Every limit has its default here; docs/annotate.md ("Security") lists them.
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from fingereval.annotate.people import User

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class AnnotateSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    per_item: int = Field(2, ge=1, description="annotators who label each item")
    token: str | None = Field(None, min_length=1, description="one shared token: the one-person mode")
    users: list[User] | None = Field(None, min_length=1, description="people with their own token and role")
    max_body_mb: float = Field(1.0, gt=0, description="largest request body on any route, checked before reading")
    body_timeout_s: float = Field(30.0, gt=0, description="seconds for a request's whole body to arrive; then 408")
    login_failures: int = Field(10, ge=1, description="wrong tokens one client address may send per window")
    login_window_s: float = Field(60.0, gt=0, description="the window of the login attempt limit, in seconds")
    session_hours: float = Field(12.0, gt=0, description="a login session ends this long after it began")
    sessions_per_person: int = Field(20, ge=1, description="open sessions per person; the oldest ends first")
    allowed_hosts: list[str] | None = Field(
        None, description="Host header values served (no port); default: the loopback names when the app has no "
        "token or users, so that a web page cannot reach an open app by DNS rebinding; any host otherwise")

    @model_validator(mode="after")
    def _one_kind_of_people(self) -> AnnotateSettings:
        if self.token is not None and self.users is not None:
            raise ValueError("give a shared token or a users file, not both")
        return self

    @property
    def max_body_bytes(self) -> int:
        return int(self.max_body_mb * 1024 * 1024)

    def hosts(self) -> set[str] | None:
        """The Host names served (lower case), or None for any."""
        if self.allowed_hosts is not None:
            return {h.lower() for h in self.allowed_hosts}
        return set(LOOPBACK_HOSTS) if self.token is None and self.users is None else None


__all__ = ["AnnotateSettings", "LOOPBACK_HOSTS"]
