"""`fingereval doctor`: what this machine has for fingereval, each line OK or what to do.

Every check is a function returning a Check; none raises, none waits more than a few seconds (an LLM
endpoint that does not answer is reported, not waited on).
"""
from __future__ import annotations

import os
import platform
import shutil
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from fingereval.answer.base import DEFAULT_MODEL

MIN_FREE_GB = 20.0  # a 7B checkpoint in bfloat16 is about 16 GB in the hub cache
DECODERS = {"H.264": ("h264",), "HEVC": ("hevc",), "VP9": ("vp9", "libvpx-vp9"), "AV1": ("libdav1d", "av1", "libaom-av1")}


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # "ok", "warn" (works, with a limit) or "fail" (a part of fingereval will not work)
    detail: str  # what was found, or what to do

    def as_dict(self) -> dict:
        return asdict(self)


def python() -> Check:
    found = platform.python_version()
    if sys.version_info < (3, 11):
        return Check("python", "fail", f"{found}: fingereval needs Python 3.11 or newer")
    return Check("python", "ok", found)


def extras_installed() -> Check:
    """Which optional parts (pip extras) this installation has; a missing one is a choice, not a failure."""
    from fingereval.extras import EXTRAS, installed

    have = [e for e in EXTRAS if installed(e)]
    lack = [e for e in EXTRAS if e not in have]
    if not lack:
        return Check("extras", "ok", f"all installed: {', '.join(have)}")
    return Check("extras", "ok", f"installed: {', '.join(have) or 'none (the plain install)'}; not installed: "
                 f"{', '.join(lack)} (pip install 'fingereval[NAME]' adds one, 'fingereval[all]' all; docs/install.md)")


def torch_and_cuda() -> Check:
    try:
        import torch
    except ImportError:
        return Check("torch", "warn", "not installed (the local extra): in-process models need pip install "
                     "'fingereval[local]'; --answerer openai with a vLLM or SGLang server needs none")
    if torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        return Check("torch", "ok", f"{torch.__version__}, CUDA {torch.version.cuda}: {names}")
    return Check("torch", "warn", f"{torch.__version__}, no CUDA device: a 7B model scores slowly on CPU; use a GPU, "
                 "or --answerer openai with a vLLM server")


def _decoder(names: tuple[str, ...]) -> str | None:
    import av

    for name in names:
        try:
            av.codec.Codec(name, "r")
            return name
        except Exception:  # PyAV raises UnknownCodecError or ValueError, depending on its version
            continue
    return None


def video_decoders() -> list[Check]:
    try:
        import av
    except ImportError:
        return [Check("PyAV", "fail", "not installed: pip install av")]
    checks = []
    for label, names in DECODERS.items():
        found = _decoder(names)
        checks.append(Check(f"decode {label}", "ok", f"PyAV {av.__version__} ({found})") if found else
                      Check(f"decode {label}", "warn", f"PyAV {av.__version__} has no {label} decoder: re-encode such "
                            "videos as H.264 (ffmpeg -i in.webm -c:v libx264 out.mp4)"))
    return checks


def _without_local(name: str) -> Check | None:
    from fingereval.extras import installed

    if installed("local"):
        return None
    return Check(name, "ok", "not needed: the local extra (in-process models) is not installed")


def hub_cache_disk() -> Check:
    if skipped := _without_local("hub cache disk"):
        return skipped
    from fingereval.answer.hub import hub_cache

    cache = Path(hub_cache())
    probe = next((p for p in (cache, *cache.parents) if p.exists()), Path("/"))
    free = shutil.disk_usage(probe).free / 1e9
    where = f"{cache} ({free:.0f} GB free)"
    if free < MIN_FREE_GB:
        return Check("hub cache disk", "warn", f"{where}: a 7B model needs about 16 GB; free space or point "
                     "HF_HOME at a larger disk")
    return Check("hub cache disk", "ok", where)


def default_model_cached() -> Check:
    if skipped := _without_local("default model"):
        return skipped
    from fingereval.answer.hub import is_cached, offline

    if is_cached(DEFAULT_MODEL):
        return Check("default model", "ok", f"{DEFAULT_MODEL} is in the hub cache")
    how = ("HF_HUB_OFFLINE=1 is set, so it cannot be downloaded: " if offline() else "it downloads on first use "
           "(about 16 GB); ")
    return Check("default model", "warn", f"{DEFAULT_MODEL} is not in the hub cache: {how}or give --model with a "
                 "local checkpoint folder (`fingereval tiny-model DIR` writes a tiny one for trying things out)")


def chromium() -> Check:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return Check("chromium", "ok", f"{found} (the browser tests use it)")
    return Check("chromium", "warn", "not found: the browser tests will skip (apt-get install chromium)")


def llm_endpoint(base_url: str | None = None, timeout: float = 3.0) -> Check:
    """The question generator's endpoint when one is configured (FINGEREVAL_LLM_BASE_URL)."""
    base_url = base_url or os.environ.get("FINGEREVAL_LLM_BASE_URL")
    if not base_url:
        return Check("LLM endpoint", "ok", "none configured: questions come from the offline templates "
                     "(set FINGEREVAL_LLM_BASE_URL for --generator llm)")
    import httpx

    url = base_url.rstrip("/") + "/models"
    key = os.environ.get("FINGEREVAL_LLM_API_KEY")
    try:
        reply = httpx.get(url, timeout=timeout, headers={"Authorization": f"Bearer {key}"} if key else None)
    except httpx.HTTPError as e:
        return Check("LLM endpoint", "fail", f"{base_url} does not answer ({type(e).__name__}): start the server or "
                     "fix FINGEREVAL_LLM_BASE_URL")
    if reply.status_code in (401, 403):
        return Check("LLM endpoint", "fail", f"{base_url} refuses the key (HTTP {reply.status_code}): set "
                     "FINGEREVAL_LLM_API_KEY")
    if reply.status_code != 200:
        return Check("LLM endpoint", "fail", f"{url} answered HTTP {reply.status_code}: is it an OpenAI-compatible "
                     "server (the base URL usually ends in /v1)?")
    try:
        models = [m.get("id") for m in reply.json().get("data", [])]
    except ValueError:
        models = []
    return Check("LLM endpoint", "ok", f"{base_url} answers; models: {', '.join(map(str, models)) or 'none listed'}")


CHECKS: tuple[Callable[[], Check | list[Check]], ...] = (python, extras_installed, torch_and_cuda, video_decoders,
                                                         hub_cache_disk, default_model_cached, chromium, llm_endpoint)


def run_checks() -> list[Check]:
    found: list[Check] = []
    for check in CHECKS:
        try:
            result = check()
        except Exception as e:  # a check that breaks is itself a finding, never a crash of doctor
            result = Check(check.__name__, "fail", f"the check itself failed: {type(e).__name__}: {e}")
        found += result if isinstance(result, list) else [result]
    return found
