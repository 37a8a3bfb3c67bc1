"""The tests' own OpenAI-compatible server keeps a handler's error instead of printing it to stderr.

A request thread outlives its test when the client gives up first (a timeout test); socketserver's default
prints that request's traceback to sys.stderr, where click's CliRunner of a later test on the same worker
captured it (CI of 2026-12-07: a one-line-error test counted 22 lines).
"""
from __future__ import annotations

import time

import httpx
import pytest
from openai_server import ChatServer


def _raises(body: dict) -> dict:
    raise RuntimeError("reply failed for the test")


def test_a_handler_error_is_kept_on_the_server_and_not_printed(capfd):
    with ChatServer(_raises) as server:
        with pytest.raises(httpx.HTTPError):
            httpx.post(f"{server.url}/chat/completions", json={"model": "served", "messages": []}, timeout=5)
        deadline = time.monotonic() + 5  # the error is recorded by the request thread, after the client saw the close
        while not server.errors and time.monotonic() < deadline:
            time.sleep(0.01)
        errors = server.errors
    assert len(errors) == 1 and "reply failed for the test" in errors[0]
    captured = capfd.readouterr()
    assert "Exception occurred" not in captured.err and "Traceback" not in captured.err
