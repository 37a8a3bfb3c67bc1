"""Where a model's files come from: a local checkpoint folder, or a hub id whose files are cached or fetched.

`check_model` runs before any weights load (it fetches config.json only, a few kB), so that a wrong id, a
gated model or a machine without network is named in seconds, with what to do, instead of after a load.
"""
from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

from fingereval.errors import ConfigError

LOCAL_HINT = "or give a local checkpoint folder (--model /path/to/folder, saved with save_pretrained)"


_HUB_ID = re.compile(r"^(?:[A-Za-z0-9][\w.-]*/)?[A-Za-z0-9][\w.-]*$")  # `owner/name` or a bare legacy `name`


def looks_like_path(model: str) -> bool:
    """A name that can only be a folder (./x, /x, ~/x, a/b/c): everything else that fits a hub id is one."""
    return not _HUB_ID.match(model) or model.startswith((".", "~"))


def offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def hub_cache() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def is_cached(model: str) -> bool:
    """Whether the hub cache holds this id's config.json (the weights may still be partial)."""
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(model, "config.json"), str)


def _local(model: str) -> Path:
    path = Path(model).expanduser()
    if not path.is_dir():
        raise ConfigError(f"model {model}: no such directory; give a checkpoint folder or a hub id (owner/name)")
    if not (path / "config.json").is_file():
        raise ConfigError(f"model {model}: the folder has no config.json; give a folder saved with save_pretrained "
                          "(model and processor), e.g. `fingereval tiny-model DIR` writes one")
    return path


def _fetch_failed(model: str, error: Exception) -> ConfigError:
    from huggingface_hub.errors import (GatedRepoError, HFValidationError, LocalEntryNotFoundError,
                                        OfflineModeIsEnabled, RepositoryNotFoundError, RevisionNotFoundError)

    if isinstance(error, HFValidationError):
        return ConfigError(f"model {model}: not a folder here and not a hub id (owner/name); " + LOCAL_HINT)

    if isinstance(error, GatedRepoError):
        return ConfigError(f"model {model} is gated on the Hugging Face Hub and this machine has no access: accept "
                           "its terms on its hub page, then log in (`hf auth login`, or set HF_TOKEN); " + LOCAL_HINT)
    if isinstance(error, RepositoryNotFoundError):
        return ConfigError(f"model {model}: no such model on the Hugging Face Hub (check the id, e.g. "
                           "Qwen/Qwen2.5-VL-7B-Instruct; a private model needs HF_TOKEN); " + LOCAL_HINT)
    if isinstance(error, RevisionNotFoundError):
        return ConfigError(f"model {model}: the hub has no such revision; " + LOCAL_HINT)
    if offline() or isinstance(error, OfflineModeIsEnabled):
        return ConfigError(f"model {model}: not in the hub cache ({hub_cache()}) and HF_HUB_OFFLINE=1 forbids "
                           "downloading it: download it once where there is network (`hf download "
                           f"{model}`), copy that cache here or point HF_HOME at it; " + LOCAL_HINT)
    if isinstance(error, (LocalEntryNotFoundError, ConnectionError, TimeoutError, OSError)):
        return ConfigError(f"model {model}: the weights could not be fetched from the hub (no network, a proxy, or "
                           f"the hub is down: {type(error).__name__}) and they are not in the hub cache "
                           f"({hub_cache()}; HF_HOME moves it); " + LOCAL_HINT + ". With HF_HUB_OFFLINE=1 only the "
                           "cache is used and the network is never tried")
    raise error


@dataclass(frozen=True)
class ModelFiles:
    source: str  # what from_pretrained is given: the folder, or the hub id
    local_only: bool  # a folder, or a cached hub id while the hub cannot be reached: never touch the network


def hub_reachable(timeout: float = 5.0) -> bool:
    """One request to the hub's endpoint, no retries: huggingface_hub's own backoff takes ~25 s to give up."""
    import httpx
    from huggingface_hub import constants

    try:
        httpx.head(constants.ENDPOINT, timeout=timeout)
        return True
    except httpx.HTTPError:
        return False


def check_model(model: str | Path) -> ModelFiles:
    """The model's files are reachable: a folder with a config, or a hub id whose config is cached or fetched.
    Raises ConfigError saying what is wrong and what to do."""
    name = str(model)
    if Path(name).expanduser().is_dir() or looks_like_path(name):
        return ModelFiles(str(_local(name)), local_only=True)
    return _check_hub_id(name, offline())


@functools.lru_cache(maxsize=16)  # the CLI checks before loading and the loader checks again: one round trip
def _check_hub_id(name: str, is_offline: bool) -> ModelFiles:
    from huggingface_hub import hf_hub_download

    if not is_offline and not hub_reachable():
        if is_cached(name):
            return ModelFiles(name, local_only=True)  # the cache serves it, without waiting on the network
        raise _fetch_failed(name, ConnectionError("the hub did not answer"))
    try:
        hf_hub_download(name, "config.json")
    except Exception as e:  # huggingface_hub's errors, sorted into what to do in _fetch_failed
        raise _fetch_failed(name, e) from None
    return ModelFiles(name, local_only=is_offline)
