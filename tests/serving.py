"""The scoring service for the tests: the real app on uvicorn in a thread, on a free 127.0.0.1 port."""
from __future__ import annotations

import contextlib
import socket
import threading
import time
from pathlib import Path

import pytest

SERVE_SIZE, SERVE_FRAMES = 56, 4  # the scoring settings every serve test uses (small: a 2-core machine)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def served(app, timeout: float = 30.0, access_log: bool = False):
    """Yield the base URL of `app` served by uvicorn as `fingereval serve` runs it (the header deadline, the
    connection cap and the lingering close of fingereval.web, from the app's own settings); on exit the server
    stops and the app's lifespan ends (its model worker finishes the video in hand), so the next server never
    shares the model with it."""
    import uvicorn

    from fingereval.web import server_config

    # the socket stays bound from here on: a port found free and bound later can be taken by another xdist worker
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    settings = getattr(app.state, "settings", None)
    level = "info" if access_log else "warning"  # uvicorn sets its access logger to this level
    if hasattr(settings, "connection_limits"):  # the scoring service: its own connection rules
        config = server_config(app, "127.0.0.1", port, settings.connection_limits(), log_level=level,
                               access_log=access_log)
    else:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level=level, access_log=access_log,
                                lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    started = time.monotonic()
    while not server.started:
        if not thread.is_alive() or time.monotonic() - started > timeout:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout)
        sock.close()


@pytest.fixture(scope="session")
def serve_evaluator(tiny_model_dir):
    """The tiny model, loaded once, behind every test server (each stops before the next starts)."""
    from fingereval.config import ScoringConfig

    return ScoringConfig(model=str(tiny_model_dir), size=SERVE_SIZE, max_frames=SERVE_FRAMES).evaluator()


def wait_idle(base: str, seconds: float = 20.0) -> dict:
    """Poll /health until the worker holds no video and nothing waits (bounded)."""
    import httpx

    end = time.monotonic() + seconds
    while True:
        health = httpx.get(base + "/health").json()
        if (not health["busy"] and health["queued"] == 0) or time.monotonic() > end:
            return health
        time.sleep(0.05)


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def assert_error(r, status: int, kind: str) -> dict:
    """The service's one error shape, on one line, never a traceback; returns the error object."""
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["type"] == kind and error["message"] and set(error) == {"type", "message"}, error
    assert "Traceback" not in r.text and "\n" not in error["message"]
    return error


def port_of(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def raw_exchange(port: int, data: bytes, read_timeout: float = 30.0) -> bytes:
    """Send hand-made bytes on a fresh socket and read until the server closes it (or `read_timeout` passes
    with nothing new, which raises TimeoutError: the server held the connection)."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as s:
        s.sendall(data)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def parse_answer(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """(status, headers with lower-case names, body) of one HTTP/1.1 answer read off a socket."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body
