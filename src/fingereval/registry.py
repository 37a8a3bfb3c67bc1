"""One registry shape for every role: name -> "module:Class", imported on use, options checked against
the constructor, and third-party backends found through an entry-point group (a pip install, no edit here).

    [project.entry-points."fingereval.answerers"]
    mine = "my_package.answerer:MyAnswerer"
"""
from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from importlib.metadata import entry_points

from fingereval.errors import ConfigError
from fingereval.extras import missing_extra_error


@dataclass(frozen=True)
class Registry:
    role: str  # "answerer", "question generator": used in messages
    group: str  # the entry-point group third parties register under
    builtin: dict[str, str]  # name -> "module:Class"

    def names(self) -> dict[str, str]:
        """Every backend this installation has: built-in ones first, then entry points (which cannot shadow them)."""
        found = dict(self.builtin)
        for ep in entry_points(group=self.group):
            found.setdefault(ep.name.lower(), ep.value)
        return found

    def load(self, name: str) -> type:
        """A registered name, or "package.module:Class" for a backend that is importable but not registered."""
        if ":" in str(name):
            module_name, _, class_name = str(name).partition(":")
            try:
                return getattr(importlib.import_module(module_name), class_name)
            except (ImportError, AttributeError) as e:
                raise ConfigError(f"{self.role} {name!r} cannot be imported: {e}") from None
        key = str(name).strip().lower()
        known = self.names()
        if key not in known:
            raise ConfigError(f"unknown {self.role} {name!r}: use one of {', '.join(known)} "
                              f"(or install a package that registers one under {self.group!r})")
        module_name, _, class_name = known[key].partition(":")
        try:
            return getattr(importlib.import_module(module_name), class_name)
        except (ImportError, AttributeError) as e:
            if isinstance(e, ImportError) and (missing := missing_extra_error(f"{self.role} {key!r}", e)):
                raise missing from None  # a built-in backend whose pip extra is not installed (fingereval.extras)
            raise ConfigError(f"{self.role} {key!r} ({known[key]}) cannot be imported: {e}") from None

    def create(self, name: str, /, **options):
        """The backend called `name`, built with `options`; ConfigError for an unknown name or option."""
        cls = self.load(name)
        params = inspect.signature(cls).parameters
        takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
        accepted = [k for k, p in params.items() if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        unknown = sorted(set(options) - set(accepted))
        if unknown and not takes_any:
            raise ConfigError(f"{self.role} {str(name).strip()!r} has no option {', '.join(unknown)}: "
                              f"it takes {', '.join(accepted) or 'no options'}")
        return cls(**options)
