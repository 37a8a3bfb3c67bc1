"""The scoring service tried as an attacker and as a careless client would (issue 26 §1-5, §10), over real HTTP:
uvicorn on a loopback port as `fingereval serve` runs it, the tiny model, real files, raw sockets where a
well-behaved client library would hide what the server does. Each test failed on the code before the change.
"""
from __future__ import annotations

import base64
import io
import json
import logging
import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import httpx
import pytest
import requests

from conftest import time_limit, write_video
from serving import (SERVE_SIZE, assert_error, files_in, parse_answer, port_of, raw_exchange, serve_evaluator,  # noqa: F401
                     served, wait_idle)

from fingereval.serve import ServeSettings, create_app
from fingereval.web import JsonFormatter, SafeFormatter

TOKEN = "attack-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PROMPT = "a red square slides right"
Q_JSON = [{"id": "q1", "dimension": "text_alignment", "text": "Is there a red square?", "good_answer": "yes"},
          {"id": "q2", "dimension": "dynamic_degree", "text": "Does the square move?", "good_answer": "yes"}]


@pytest.fixture(scope="module")
def place(tmp_path_factory) -> tuple[Path, Path]:
    """(the allow-dir with red.mp4, a secret video outside it)."""
    root = tmp_path_factory.mktemp("attacks")
    allowed = root / "allowed"
    write_video(allowed / "red.mp4", frames=8, size=SERVE_SIZE)
    secret = write_video(root / "secret" / "secret.mp4", frames=8, size=SERVE_SIZE, colour=(30, 200, 30))
    return allowed, secret


def post(base: str, route: str = "/v1/score", timeout: float = 60, **body) -> httpx.Response:
    """JSON as json.dumps writes it: a lone surrogate ("\udce9", a file name that is not UTF-8) as an escape."""
    return httpx.post(base + route, content=json.dumps(body), headers={**AUTH, "Content-Type": "application/json"},
                      timeout=timeout)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def model_calls(serve_evaluator, monkeypatch) -> list:
    """Every call the model answers (the answerer's answer()), to show what never reached it."""
    calls, real = [], serve_evaluator.answerer.answer

    def counted(clip, questions, reason=False):
        calls.append(Path(clip.path).name)
        return real(clip, questions, reason=reason)

    monkeypatch.setattr(serve_evaluator.answerer, "answer", counted)
    return calls


# ---- §1 a video is a video -------------------------------------------------------------------------------------

def test_an_upload_that_is_an_hls_playlist_naming_another_video_is_refused(serve_evaluator, place, tmp_path,
                                                                           model_calls):
    allowed, secret = place
    playlist = f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:1.0,\n{secret}\n#EXT-X-ENDLIST\n".encode()
    (allowed / "list.m3u8").write_bytes(playlist)
    settings = ServeSettings(token=TOKEN, allow_dir=allowed, temp_dir=tmp_path)
    with served(create_app(serve_evaluator, settings)) as base:
        error = assert_error(post(base, prompt=PROMPT, video=b64(playlist), video_name="clip.m3u8", questions=Q_JSON),
                             422, "VideoFormatError")
        assert error["message"].startswith("clip.m3u8:") and "HLS playlist" in error["message"]
        assert str(secret) not in error["message"] and str(tmp_path) not in error["message"]
        by_path = assert_error(post(base, prompt=PROMPT, video_path="list.m3u8", questions=Q_JSON), 422,
                               "VideoFormatError")
        assert by_path["message"].startswith("list.m3u8:")
        batch = post(base, "/v1/score_batch", items=[{"prompt": PROMPT, "video": b64(playlist), "video_name": "a.m3u8"}])
        assert batch.json()["results"][0]["error"]["type"] == "VideoFormatError"
        assert wait_idle(base)["queued"] == 0
    assert model_calls == [] and files_in(tmp_path) == []  # nothing reached the model; no upload left behind


def test_the_upload_name_never_decides_the_format(service_default):
    base, allowed = service_default
    red = (allowed / "red.mp4").read_bytes()
    as_playlist = post(base, prompt=PROMPT, video=b64(red), video_name="red.m3u8", questions=Q_JSON)
    assert as_playlist.status_code == 200, as_playlist.text  # an mp4's bytes under a playlist's name: an mp4
    by_path = post(base, prompt=PROMPT, video_path="red.mp4", questions=Q_JSON).json()
    assert [q["p_yes"] for q in as_playlist.json()["questions"]] == [q["p_yes"] for q in by_path["questions"]]
    assert as_playlist.json()["video"] == "red.m3u8"


@pytest.fixture(scope="module")
def service_default(serve_evaluator, place):
    allowed, _ = place
    with served(create_app(serve_evaluator, ServeSettings(token=TOKEN, allow_dir=allowed))) as base:
        yield base, allowed


# ---- §2 caps before the model, abandoned jobs ------------------------------------------------------------------

def test_every_cap_is_422_naming_it_before_the_model(serve_evaluator, place, model_calls):
    allowed, _ = place
    settings = ServeSettings(token=TOKEN, allow_dir=allowed, max_questions=2, max_prompt_chars=40, max_video_frames=6,
                             max_video_seconds=60, max_items=8, max_queue=2)
    red = b64((allowed / "red.mp4").read_bytes())  # 8 frames
    with served(create_app(serve_evaluator, settings)) as base:
        cases = [({"prompt": PROMPT, "video_path": "red.mp4"}, "--max-questions"),  # ~20 generated questions
                 ({"prompt": PROMPT, "video_path": "red.mp4", "questions": Q_JSON + [{**Q_JSON[0], "id": "q3"}]},
                  "--max-questions"),
                 ({"prompt": "x" * 41, "video_path": "red.mp4", "questions": Q_JSON}, "--max-prompt-chars"),
                 ({"prompt": PROMPT, "video_path": "red.mp4",  # a question's text is text the model reads too
                   "questions": [{**Q_JSON[0], "text": "Is the square " + "very " * 8 + "red?"}]}, "--max-prompt-chars"),
                 ({"prompt": PROMPT, "video": red, "questions": Q_JSON}, "--max-video-frames")]
        for body, option in cases:
            assert option in assert_error(post(base, **body), 422, "LimitExceeded")["message"]
        three = [{"prompt": PROMPT, "video_path": "red.mp4", "questions": Q_JSON}] * 3
        error = assert_error(post(base, "/v1/score_batch", items=three), 422, "LimitExceeded")
        assert "--max-queue" in error["message"]  # it could never be admitted: not a 503 to retry for ever
        assert_error(post(base, "/v1/score_batch", items=[{"prompt": PROMPT, "video_path": "red.mp4"}] * 9), 422,
                     "InvalidRequest")  # over --max-items: the schema's own limit
        assert wait_idle(base)["queued"] == 0
    with served(create_app(serve_evaluator, ServeSettings(token=TOKEN, allow_dir=allowed, max_video_pixels=1000))) as base:
        body = {"prompt": PROMPT, "video": red, "questions": Q_JSON}  # 8 frames: over 1000 pixels at any size
        assert "--max-video-pixels" in assert_error(post(base, **body), 422, "LimitExceeded")["message"]
    assert model_calls == []
    with served(create_app(serve_evaluator, ServeSettings(token=TOKEN, allow_dir=allowed, max_video_frames=8))) as base:
        assert post(base, prompt=PROMPT, video=red, questions=Q_JSON).status_code == 200  # at the cap: scored
    assert model_calls == ["red.mp4"] or len(model_calls) == 1


class Held:
    """The real evaluator behind a door: score() waits until the test opens it, so the worker holds a video for
    as long as the test needs (as a long decode would), then scores for real."""

    def __init__(self, evaluator):
        self.evaluator, self.door, self.entered = evaluator, threading.Event(), threading.Event()

    @property
    def model_id(self) -> str:
        return self.evaluator.model_id

    def questions(self, prompt: str):
        return self.evaluator.questions(prompt)

    def score(self, *args, **kwargs):
        self.entered.set()
        assert self.door.wait(60), "the test never opened the door"
        return self.evaluator.score(*args, **kwargs)


def _until(condition, what: str, seconds: float = 30.0):
    end = time.monotonic() + seconds
    while not (value := condition()):
        assert time.monotonic() < end, f"never: {what}"
        time.sleep(0.02)
    return value


def test_a_job_whose_client_got_504_or_left_frees_its_slot_at_once_and_never_reaches_the_model(
        serve_evaluator, place, model_calls):
    allowed, _ = place
    held = Held(serve_evaluator)
    settings = ServeSettings(token=TOKEN, allow_dir=allowed, max_queue=1, timeout=15)  # room for B to queue
    body = {"prompt": PROMPT, "video_path": "red.mp4", "questions": Q_JSON}
    with served(create_app(held, settings)) as base, time_limit(120, "abandoned jobs"):
        health = lambda: httpx.get(base + "/health").json()  # noqa: E731
        answers = {}
        a = threading.Thread(target=lambda: answers.setdefault("a", post(base, **body)))
        a.start()
        _until(held.entered.is_set, "the worker holds A")
        b = threading.Thread(target=lambda: answers.setdefault("b", post(base, **body)))
        b.start()
        _until(lambda: health()["queued"] == 1, "B waits in the queue")
        a.join()
        b.join()
        assert_error(answers["a"], 504, "Timeout")
        assert_error(answers["b"], 504, "Timeout")
        assert health()["queued"] == 0  # B's slot is free while the worker still holds A
        # a client that leaves while its job waits frees the slot too (the server sees it within half a second)
        payload = json.dumps(body).encode()
        with socket.create_connection(("127.0.0.1", port_of(base))) as s:
            s.sendall(f"POST /v1/score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: "
                      f"application/json\r\nContent-Length: {len(payload)}\r\n\r\n".encode() + payload)
            _until(lambda: health()["queued"] == 1, "C waits in the queue")
        _until(lambda: health()["queued"] == 0, "C's slot freed when its client left")
        held.door.set()  # A goes on: decoded, then dropped before the model, as its client got its 504
        wait_idle(base)
        assert model_calls == []  # neither A (running when abandoned), B nor C (waiting) reached the model
        assert post(base, **body).status_code == 200 and model_calls == ["red.mp4"]


# ---- §3 no 500 from any path -----------------------------------------------------------------------------------

def test_no_path_input_is_a_500(serve_evaluator, place, tmp_path):
    allowed, _ = place
    hostile = allowed / "hostile"
    hostile.mkdir(exist_ok=True)
    for name in ("loop.mp4", "loop2.mp4", "fifo.mp4", "folder.mp4", "null.mp4"):
        (hostile / name).unlink(missing_ok=True) if not (hostile / name).is_dir() else (hostile / name).rmdir()
    (hostile / "loop.mp4").symlink_to(hostile / "loop2.mp4")
    (hostile / "loop2.mp4").symlink_to(hostile / "loop.mp4")
    os.mkfifo(hostile / "fifo.mp4")
    (hostile / "folder.mp4").mkdir()
    paths = ["hostile/loop.mp4", "hostile/fifo.mp4", "hostile/folder.mp4", "hostile/" + "x" * 300 + ".mp4",
             "hostile/" + "/".join(["d" * 200] * 25), "red.mp4/inner.mp4", "hostile/\udce9.mp4", "/dev/null",
             "a\x00b"]
    try:
        os.mknod(hostile / "null.mp4", 0o600 | 0o020000, os.makedev(1, 3))  # a character device inside the folder
        paths.append("hostile/null.mp4")
    except PermissionError:
        pass  # no CAP_MKNOD here: /dev/null (outside the folder) and the FIFO stand for devices
    with served(create_app(serve_evaluator, ServeSettings(token=TOKEN, allow_dir=allowed))) as base:
        with time_limit(120, "hostile paths"):
            for path in paths:
                r = post(base, prompt=PROMPT, video_path=path, questions=Q_JSON)
                assert r.status_code in (403, 422), (path, r.text)
                assert_error(r, r.status_code, r.json()["error"]["type"])
            batch = post(base, "/v1/score_batch", items=[{"prompt": PROMPT, "video_path": p} for p in paths[:8]])
            kinds = [x["error"]["type"] for x in batch.json()["results"]]
            assert "InternalError" not in kinds and len(kinds) == 8, kinds
        assert wait_idle(base)["status"] == "ok"


# ---- §4 connections --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def strict(serve_evaluator, place):
    """A service with short read deadlines and a small body limit (52 KB)."""
    allowed, _ = place
    settings = ServeSettings(token=TOKEN, allow_dir=allowed, header_timeout=1, body_timeout=1, max_body_mb=0.05)
    with served(create_app(serve_evaluator, settings)) as base:
        yield base


def test_headers_that_never_finish_get_408_and_the_connection_ends(strict):
    raw = raw_exchange(port_of(strict), b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Ty")  # and nothing more
    status, headers, body = parse_answer(raw)
    assert status == 408 and headers["connection"] == "close"
    assert json.loads(body)["error"]["type"] == "RequestTimeout" and "--header-timeout" in body.decode()
    assert raw_exchange(port_of(strict), b"") == b""  # a connection that sends nothing is closed, silently


def test_a_body_that_never_finishes_gets_408_and_the_connection_ends(strict):
    head = (f"POST /v1/score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
            "Content-Length: 1000\r\n\r\n").encode()
    status, headers, body = parse_answer(raw_exchange(port_of(strict), head + b'{"prompt": "a'))
    assert status == 408 and headers["connection"] == "close" and "--body-timeout" in body.decode()


def test_connections_over_the_cap_get_503_in_the_error_shape(serve_evaluator, place):
    allowed, _ = place
    settings = ServeSettings(token=TOKEN, allow_dir=allowed, max_connections=2, header_timeout=60)
    with served(create_app(serve_evaluator, settings)) as base:
        held = [socket.create_connection(("127.0.0.1", port_of(base))) for _ in range(2)]
        try:
            _until(lambda: len(held) == 2, "two connections")
            status, headers, body = parse_answer(raw_exchange(port_of(base), b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"))
            assert status == 503 and headers["retry-after"] == "1" and headers["connection"] == "close"
            assert json.loads(body)["error"]["type"] == "TooManyConnections" and "--max-connections" in body.decode()
        finally:
            for s in held:
                s.close()
        assert _until(lambda: _health_or_none(base), "a connection free again")["status"] == "ok"


def _health_or_none(base: str):
    r = httpx.get(base + "/health")
    return r.json() if r.status_code == 200 else None


def test_every_early_413_closes_the_connection_and_the_rest_is_not_read_for_ever(strict):
    port = port_of(strict)
    head = f"POST /v1/score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
    status, headers, _ = parse_answer(raw_exchange(port, (head + "Content-Length: 1000000000\r\n\r\n").encode()))
    assert status == 413 and headers["connection"] == "close"
    # chunked: the 413 comes when the count passes the limit; then the server reads a bounded amount and closes
    sent, chunk = 0, b"%x\r\n%s\r\n" % (1 << 20, b"x" * (1 << 20))
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s, time_limit(120, "a gigabyte of chunks"):
        s.sendall((head + "Transfer-Encoding: chunked\r\n\r\n").encode())
        try:
            while sent < 1 << 30:
                s.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
    assert sent < 256 << 20, f"the server read {sent >> 20} MB after its 413"


@pytest.mark.parametrize("client", ["curl", "httpx", "requests", "urllib"])
def test_ordinary_clients_read_the_413_not_a_reset(strict, client):
    url, body = strict + "/v1/score", b'{"prompt": "' + b"x" * 4_000_000 + b'"}'  # 4 MB against 52 KB
    headers = {**AUTH, "Content-Type": "application/json"}
    if client == "curl":
        done = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", *sum((["-H", f"{k}: {v}"] for k, v in headers.items()),
                                                                            []), "--data-binary", "@-", url],
                              input=body, capture_output=True, timeout=60)
        text, _, status = done.stdout.decode().rpartition("\n")
        answer = (int(status), json.loads(text))
    elif client == "httpx":
        r = httpx.post(url, content=body, headers=headers, timeout=60)
        answer = (r.status_code, r.json())
    elif client == "requests":
        r = requests.post(url, data=body, headers=headers, timeout=60)
        answer = (r.status_code, r.json())
    else:
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(urllib.request.Request(url, data=body, headers=headers), timeout=60)
        answer = (e.value.code, json.loads(e.value.read()))
    assert answer[0] == 413 and answer[1]["error"]["type"] == "PayloadTooLarge", answer


def test_what_h11_cannot_parse_is_a_400_in_the_error_shape(strict):
    """uvicorn answers these in plain text; here they are the one error shape, and the connection ends."""
    for request in [b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n",  # headers over 16 KB
                    b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n",  # a control byte in the target
                    b"POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n"]:
        status, headers, body = parse_answer(raw_exchange(port_of(strict), request))
        assert status == 400 and headers["connection"] == "close" and headers["content-type"] == "application/json"
        assert json.loads(body)["error"]["type"] == "BadRequest"


# ---- §10 the header-level token gate ---------------------------------------------------------------------------

def test_without_the_token_the_body_is_never_waited_for(serve_evaluator, place):
    """The token is checked on the headers: an announced body (under the size limit) that is never sent still
    gets its 401 at once. The route's own check would first wait for the whole body, and then, the body
    deadline being long here, the client would see nothing."""
    allowed, _ = place
    settings = ServeSettings(token=TOKEN, allow_dir=allowed, body_timeout=300)
    with served(create_app(serve_evaluator, settings)) as base:
        for auth in ("", "Authorization: Bearer wrong\r\n", f"Authorization: Basic {TOKEN}\r\n"):
            head = (f"POST /v1/score HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: application/json\r\n"
                    "Content-Length: 10000000\r\n\r\n").encode()
            status, headers, body = parse_answer(raw_exchange(port_of(base), head + b'{"pro', read_timeout=20))
            assert status == 401 and headers["connection"] == "close" and headers["www-authenticate"] == "Bearer"
            assert json.loads(body)["error"]["type"] == "Unauthorized"


# ---- §5 logs ---------------------------------------------------------------------------------------------------

@pytest.fixture
def log_lines():
    """What the service's loggers write through a handler of each format: (text stream, JSON stream)."""
    text, as_json = io.StringIO(), io.StringIO()
    handlers = [logging.StreamHandler(text), logging.StreamHandler(as_json)]
    handlers[0].setFormatter(SafeFormatter("%(name)s %(message)s"))
    handlers[1].setFormatter(JsonFormatter())
    loggers = [logging.getLogger(n) for n in ("fingereval.serve", "uvicorn.access")]
    saved = [(lg.level, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.INFO)
        for h in handlers:
            lg.addHandler(h)
    yield text, as_json
    for lg, (level, propagate) in zip(loggers, saved):
        lg.setLevel(level)
        for h in handlers:
            lg.removeHandler(h)


def test_client_text_cannot_forge_a_log_line(serve_evaluator, place, log_lines, caplog):
    allowed, _ = place
    text, as_json = log_lines
    forged = "FAKE 127.0.0.1 POST /v1/score 200 1.0 ms"
    with caplog.at_level(logging.INFO, logger="fingereval.serve"):
        with served(create_app(serve_evaluator, ServeSettings(token=TOKEN, allow_dir=allowed)), access_log=True) as base:
            for path in ("/%0a" + forged.replace(" ", "%20"), "/v1/score%0d%0a" + forged.replace(" ", "%20"),
                         "/%E2%80%A8" + forged.replace(" ", "%20")):  # U+2028, a line break to some readers
                assert httpx.get(base + path, headers={"X-Request-ID": "x y\t<z>"}).status_code in (401, 404)
            time.sleep(0.2)
    records = [r.getMessage() for r in caplog.records if r.name == "fingereval.serve"]
    assert len(records) == 3 and all("\n" not in m and "\r" not in m and "\u2028" not in m for m in records), records
    assert "\\x0a" + forged in records[0]
    lines = text.getvalue().splitlines()
    assert lines and not any(line.startswith("FAKE") for line in lines), lines
    assert sum(line.startswith("uvicorn.access") for line in lines) == 3  # uvicorn's access log, quoted
    parsed = [json.loads(line) for line in as_json.getvalue().splitlines()]
    assert len(parsed) == 6 and {p["logger"] for p in parsed} == {"fingereval.serve", "uvicorn.access"}
