"""`fingereval serve` over real HTTP: uvicorn on a free loopback port, the tiny model, real video files.

Every rule of the service: the token, the same JSON and numbers as `score --json`, the allow-dir, the body
limit, the full queue, the timeout, bad videos and bad JSON, batches with a bad item, clients that leave,
a burst of clients, flat memory, one log line per request, the command itself.
"""
from __future__ import annotations

import base64
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from conftest import time_limit, write_video
from serving import SERVE_FRAMES, SERVE_SIZE, assert_error, files_in, free_port, serve_evaluator, served, wait_idle  # noqa: F401

from fingereval.cli import app as cli_app
from fingereval.client import ScoreClient, ScoreError
from fingereval.schema import Question, QuestionSet
from fingereval.serve import ServeSettings, create_app

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PROMPT = "a red square slides right"
QUESTIONS = [
    Question(id="q1", dimension="text_alignment", text="Is there a red square?", good_answer="yes"),
    Question(id="q2", dimension="temporal_consistency", text="Does the square flicker?", good_answer="no"),
    Question(id="q3", dimension="dynamic_degree", text="Does the square move?", good_answer="yes"),
]
QS = QuestionSet(prompt=PROMPT, questions=QUESTIONS)
Q_JSON = [q.model_dump(mode="json") for q in QUESTIONS]


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> Path:
    """The allow-dir: two small clips, and a secret file outside it with a symlink to it inside."""
    root = tmp_path_factory.mktemp("serve")
    allowed = root / "allowed"
    write_video(allowed / "red.mp4", frames=8, size=SERVE_SIZE)
    write_video(allowed / "blue.mp4", frames=8, size=SERVE_SIZE, colour=(30, 30, 220), moving=False)
    write_video(root / "outside.mp4", frames=8, size=SERVE_SIZE)
    (allowed / "link.mp4").symlink_to(root / "outside.mp4")
    return allowed


@pytest.fixture(scope="module")
def service(serve_evaluator, videos, tmp_path_factory):
    """The service as an operator leaves it running: a token, an allow-dir, the default limits."""
    temp = tmp_path_factory.mktemp("uploads")
    app = create_app(serve_evaluator, ServeSettings(token=TOKEN, allow_dir=videos, temp_dir=temp))
    with served(app) as base:
        yield base, temp


def b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def post(base: str, route: str = "/v1/score", **body) -> httpx.Response:
    return httpx.post(base + route, json=body, headers=AUTH, timeout=60)




def assert_same_scores(got: dict, want: dict) -> None:
    """The same record, p_yes within 1e-4 (the fields other than the numbers exactly equal)."""
    assert set(got) == set(want)
    assert [q["id"] for q in got["questions"]] == [q["id"] for q in want["questions"]]
    for g, w in zip(got["questions"], want["questions"]):
        assert g["p_yes"] == pytest.approx(w["p_yes"], abs=1e-4)
        assert {k: v for k, v in g.items() if k not in ("p_yes", "score")} == \
            {k: v for k, v in w.items() if k not in ("p_yes", "score")}
    assert got["overall"] == pytest.approx(want["overall"], abs=1e-4)
    numbers = ("overall", "dimensions", "questions")
    assert {k: v for k, v in got.items() if k not in numbers} == {k: v for k, v in want.items() if k not in numbers}


# ---- the token, the result -------------------------------------------------------------------------------------

def test_health_is_open_and_every_v1_route_needs_the_token(service, videos):
    base, _ = service
    health = httpx.get(base + "/health").json()
    assert health["status"] == "ok" and health["model"].endswith("model")
    for route in ("/v1/score", "/v1/score_batch"):
        r = httpx.post(base + route, json={"prompt": PROMPT, "video_path": "red.mp4"})
        assert_error(r, 401, "Unauthorized")
        assert r.headers["www-authenticate"] == "Bearer"
        wrong = httpx.post(base + route, json={"prompt": PROMPT, "video_path": "red.mp4"},
                           headers={"Authorization": "Bearer s3cret-tokeN"})
        assert_error(wrong, 401, "Unauthorized")
    assert_error(httpx.post(base + "/v1/score", json={}, headers={"Authorization": "Basic czNjcmV0"}), 401, "Unauthorized")


def test_score_answers_what_score_json_prints_by_path_and_by_bytes(service, videos, tiny_model_dir, serve_evaluator):
    from fingereval.cli import app as cli

    base, _ = service
    red = videos / "red.mp4"
    run = CliRunner().invoke(cli, ["score", str(red), "--prompt", PROMPT, "--model", str(tiny_model_dir), "--json",
                                   "--size", str(SERVE_SIZE), "--max-frames", str(SERVE_FRAMES)])
    assert run.exit_code == 0, run.output
    want = json.loads(run.stdout)
    by_path = post(base, prompt=PROMPT, video_path=str(red))
    assert by_path.status_code == 200, by_path.text
    assert_same_scores(by_path.json(), want)  # generated questions, same settings: the CLI's record
    by_bytes = post(base, prompt=PROMPT, video=b64(red), video_name="red.mp4", id="clip-7")
    assert_same_scores(by_bytes.json(), {**want, "video": "red.mp4", "id": "clip-7"})
    relative = post(base, prompt=PROMPT, video_path="red.mp4", questions=Q_JSON, reason=False).json()
    ref = serve_evaluator.score(red, PROMPT, QS)
    assert_same_scores(relative, {**json.loads(ref.to_json()), "video": "red.mp4"})
    escaped = json.dumps({"prompt": "caf\udce9", "video_path": "red.mp4", "id": "\udce9",  # "\udce9" escapes, as
                          "questions": [{**Q_JSON[0], "text": "Caf\udce9?"}]})  # json.dumps writes a stray byte
    odd = httpx.post(base + "/v1/score", content=escaped, headers={**AUTH, "Content-Type": "application/json"})
    assert odd.status_code == 200 and odd.json()["prompt"] == "café" and odd.json()["questions"][0]["question"] == "Café?"
    blue = post(base, prompt=PROMPT, video_path="blue.mp4", questions=Q_JSON).json()
    assert [q["p_yes"] for q in blue["questions"]] != [q["p_yes"] for q in relative["questions"]]  # the video counts


# ---- the allow-dir ------------------------------------------------------------------------------------------------

def test_video_path_outside_the_allow_dir_is_403(service, videos, serve_evaluator):
    base, _ = service
    for path in ["../outside.mp4", str(videos / ".." / "outside.mp4"), "link.mp4", str(videos.parent / "outside.mp4"),
                 "/etc/passwd", "red.mp4/../../outside.mp4", "a\x00b"]:
        assert_error(post(base, prompt=PROMPT, video_path=path, questions=Q_JSON), 403, "Forbidden")
    missing = assert_error(post(base, prompt=PROMPT, video_path="gone.mp4", questions=Q_JSON), 422, "VideoError")
    assert "not found" in missing["message"]
    with served(create_app(serve_evaluator, ServeSettings())) as no_dir:  # no allow-dir: no path at all
        error = assert_error(post(no_dir, prompt=PROMPT, video_path=str(videos / "red.mp4")), 403, "Forbidden")
        assert "--allow-dir" in error["message"]
        assert post(no_dir, prompt=PROMPT, video=b64(videos / "red.mp4"), questions=Q_JSON).status_code == 200


# ---- the body limit ---------------------------------------------------------------------------------------------

def _raw_request(port: int, head: str, body: bytes = b"", close_after: bool = False) -> bytes:
    """Send a hand-made request on a socket; the server's answer (or b"" when closed right away)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(head.encode() + body)
        if close_after:
            return b""
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def test_a_body_over_the_limit_is_413_before_it_is_read(serve_evaluator, videos):
    settings = ServeSettings(token=TOKEN, allow_dir=videos, max_body_mb=0.05)  # 52 KB
    with served(create_app(serve_evaluator, settings)) as base:
        small = post(base, prompt=PROMPT, video=b64(videos / "red.mp4"), questions=Q_JSON)
        assert small.status_code == 200, small.text  # a clip of a few KB is under the limit
        big = post(base, prompt=PROMPT, video=base64.b64encode(os.urandom(60_000)).decode())
        assert "limit of 0.05 MB" in assert_error(big, 413, "PayloadTooLarge")["message"]
        chunked = httpx.post(base + "/v1/score", headers={**AUTH, "Content-Type": "application/json"},
                             content=(b"x" * 8192 for _ in range(20)))  # no Content-Length: counted as it streams
        assert_error(chunked, 413, "PayloadTooLarge")
        # a gigabyte announced and a few bytes sent: the answer comes without waiting for the rest
        port = int(base.rsplit(":", 1)[1])
        with time_limit(20, "a 413 for an announced 1 GB body"):
            answer = _raw_request(port, f"POST /v1/score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
                                        "Content-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n", b'{"pro')
        assert answer.startswith(b"HTTP/1.1 413") and b'"PayloadTooLarge"' in answer
        # without the token, a body under the limit is not waited for either: 401 on the headers alone
        with time_limit(20, "a 401 before the body"):
            answer = _raw_request(port, "POST /v1/score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                        "Content-Length: 40000\r\n\r\n", b'{"pro')
        assert answer.startswith(b"HTTP/1.1 401") and b'"Unauthorized"' in answer
        lower = httpx.get(base + "/health").json()
        assert lower["status"] == "ok"
        ok = httpx.post(base + "/v1/score", headers={"Authorization": f"bearer {TOKEN}"},
                        json={"prompt": PROMPT, "video": b64(videos / "red.mp4"), "questions": Q_JSON})
        assert ok.status_code == 200, ok.text  # the scheme's case does not matter (RFC 7235)


# ---- the queue and the timeout ------------------------------------------------------------------------------------

def test_a_full_queue_is_503_with_retry_after(serve_evaluator, videos):
    settings = ServeSettings(token=TOKEN, allow_dir=videos, max_queue=1)
    with served(create_app(serve_evaluator, settings)) as base:
        start, answers = threading.Barrier(6), []

        def one():
            start.wait()
            answers.append(post(base, prompt=PROMPT, video_path="red.mp4"))  # generated questions: the longer job

        with time_limit(120, "a burst against a queue of 1"):
            threads = [threading.Thread(target=one) for _ in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        statuses = sorted(r.status_code for r in answers)
        assert set(statuses) == {200, 503} and statuses.count(200) >= 2, statuses  # one scored, one waited
        for r in answers:
            if r.status_code == 503:
                assert_error(r, 503, "QueueFull")
                assert int(r.headers["retry-after"]) >= 1
        scored = [r.json() for r in answers if r.status_code == 200]
        assert all(s == scored[0] for s in scored)
        # deterministic: one video on the model, one waiting, then the client without retries is refused
        background = [threading.Thread(target=lambda: answers.append(post(base, prompt=PROMPT, video_path="red.mp4")))
                      for _ in range(2)]
        with time_limit(60, "filling the queue"):
            background[0].start()
            while not httpx.get(base + "/health").json()["busy"]:
                time.sleep(0.005)
            background[1].start()
            while httpx.get(base + "/health").json()["queued"] == 0:
                time.sleep(0.005)
            with pytest.raises(ScoreError) as e:
                ScoreClient(base, TOKEN, retries=0).score(videos / "red.mp4", PROMPT, QS)
            assert (e.value.status, e.value.type) == (503, "QueueFull")
            patient = ScoreClient(base, TOKEN, retries=10).score(videos / "red.mp4", PROMPT, QS)  # waits Retry-After
            for t in background:
                t.join()
        assert len(patient.questions) == 3
        assert wait_idle(base)["queued"] == 0


def test_over_the_timeout_is_504_and_the_upload_is_removed(serve_evaluator, videos, tmp_path):
    settings = ServeSettings(token=TOKEN, allow_dir=videos, timeout=0.05, temp_dir=tmp_path)
    with served(create_app(serve_evaluator, settings)) as base:
        error = assert_error(post(base, prompt=PROMPT, video=b64(videos / "red.mp4")), 504, "Timeout")
        assert "0.05 s" in error["message"]
        batch = post(base, "/v1/score_batch", items=[{"prompt": PROMPT, "video_path": "red.mp4"}])
        assert batch.status_code == 200 and batch.json()["results"][0]["error"]["type"] == "Timeout"
        assert wait_idle(base)["status"] == "ok"
        assert files_in(tmp_path) == []  # abandoned after its client got the 504, then removed


# ---- bad input --------------------------------------------------------------------------------------------------

def test_an_unreadable_video_is_422_with_the_error_object(service, videos, tmp_path):
    base, temp = service
    garbage = assert_error(post(base, prompt=PROMPT, video=base64.b64encode(b"not a video" * 50).decode(),
                                video_name="bad.mp4"), 422, "VideoError")
    assert garbage["message"].startswith("bad.mp4:") and str(temp) not in garbage["message"]
    assert "empty" in assert_error(post(base, prompt=PROMPT, video=""), 422, "VideoError")["message"]
    assert "base64" in assert_error(post(base, prompt=PROMPT, video="%%%"), 422, "VideoError")["message"]
    half = (videos / "red.mp4").read_bytes()[:300]  # the header and a little: no frame decodes
    assert_error(post(base, prompt=PROMPT, video=base64.b64encode(half).decode(), questions=Q_JSON), 422, "VideoError")
    assert wait_idle(base)["status"] == "ok" and files_in(temp) == []


def test_malformed_json_and_bad_fields_are_400_or_422(service):
    base, _ = service
    json_head = {**AUTH, "Content-Type": "application/json"}
    assert_error(httpx.post(base + "/v1/score", content=b'{"prompt": "x", ', headers=json_head), 400, "BadJSON")
    assert_error(httpx.post(base + "/v1/score", content=b"\xff\xfe{", headers=json_head), 400, "BadJSON")
    for body in ([], "text", {"video_path": "red.mp4"}, {"prompt": "x"}, {"prompt": "x", "video": "", "video_path": "a"},
                 {"prompt": "x", "video_path": "red.mp4", "colour": 1}, {"prompt": 3, "video_path": "red.mp4"}):
        assert_error(httpx.post(base + "/v1/score", json=body, headers=AUTH), 422, "InvalidRequest")
    assert_error(httpx.post(base + "/v1/score", content=b"prompt=x", headers={**AUTH, "Content-Type": "text/plain"}),
                 422, "InvalidRequest")
    bad_dimension = [{**Q_JSON[0], "dimension": "beauty"}]
    assert "beauty" in assert_error(post(base, prompt="x", video_path="red.mp4", questions=bad_dimension),
                                    422, "DataError")["message"]
    assert_error(post(base, prompt="x", video_path="red.mp4", questions=[Q_JSON[0], Q_JSON[0]]), 422, "DataError")
    assert_error(post(base, prompt="   ", video_path="red.mp4"), 422, "DataError")
    assert_error(post(base, "/v1/score_batch", items=[]), 422, "InvalidRequest")
    assert_error(httpx.get(base + "/v1/nothing", headers=AUTH), 404, "NotFound")
    assert_error(httpx.get(base + "/v1/score", headers=AUTH), 405, "MethodNotAllowed")


def test_a_batch_records_its_bad_item_and_scores_the_others(service, videos, serve_evaluator):
    base, temp = service
    items = [{"prompt": PROMPT, "video_path": "red.mp4", "questions": Q_JSON, "id": "a"},
             {"prompt": PROMPT, "video": base64.b64encode(b"junk" * 100).decode(), "video_name": "junk.mp4", "id": "b"},
             {"prompt": PROMPT, "video_path": "../outside.mp4", "id": "c"},
             {"prompt": PROMPT, "video": b64(videos / "blue.mp4"), "questions": Q_JSON, "id": "d"}]
    r = post(base, "/v1/score_batch", items=items)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["id"] for x in results] == ["a", "b", "c", "d"]
    assert [x.get("error", {}).get("type") for x in results] == [None, "VideoError", "Forbidden", None]
    assert results[1]["video"] == "junk.mp4" and set(results[1]) == {"id", "video", "prompt", "model", "error"}
    assert_same_scores(results[0], {**json.loads(serve_evaluator.score(videos / "red.mp4", PROMPT, QS, item_id="a")
                                                 .to_json()), "video": "red.mp4"})
    with ScoreClient(base, TOKEN) as client:  # the client's batch: the same records as pydantic objects
        got = client.score_batch([{"video": videos / "red.mp4", "prompt": PROMPT, "questions": QS, "id": "a"},
                                  {"video": b"junk" * 100, "prompt": PROMPT, "id": "b"}])
    assert got[0].error is None and [q.p_yes for q in got[0].questions] == pytest.approx(
        [q["p_yes"] for q in results[0]["questions"]], abs=1e-9)
    assert got[1].error.type == "VideoError" and got[1].overall is None
    assert files_in(temp) == []


def test_the_client_scores_paths_and_bytes_and_names_the_service_errors(service, videos):
    base, _ = service
    with ScoreClient(base, TOKEN) as client:
        assert client.health()["status"] == "ok"
        from_path = client.score(videos / "red.mp4", PROMPT, QUESTIONS, id="x")
        from_bytes = client.score((videos / "red.mp4").read_bytes(), PROMPT, QS)
        served_path = client.score("red.mp4", PROMPT, QS, as_path=True)
        assert from_path.id == "x" and from_path.video == "red.mp4" and from_bytes.video == "upload.mp4"
        assert [q.p_yes for q in from_path.questions] == [q.p_yes for q in from_bytes.questions] == \
            [q.p_yes for q in served_path.questions]
        with pytest.raises(ScoreError, match=r"Forbidden \(HTTP 403\)") as e:
            client.score("../outside.mp4", PROMPT, as_path=True)
        assert e.value.error.type == "Forbidden"
        with pytest.raises(ScoreError) as e:
            client.score(b"junk", PROMPT)
        assert (e.value.status, e.value.type) == (422, "VideoError")
    with pytest.raises(ScoreError) as e:
        ScoreClient(base, "wrong").score(videos / "red.mp4", PROMPT)
    assert (e.value.status, e.value.type) == (401, "Unauthorized")
    with pytest.raises(ScoreError, match="cannot reach the scoring service") as e:
        ScoreClient(f"http://127.0.0.1:{free_port()}", TOKEN).health()
    assert e.value.status is None


# ---- clients that leave, bursts, memory -------------------------------------------------------------------------

def test_a_client_that_disconnects_mid_request_leaks_nothing(service, videos):
    base, temp = service
    port = int(base.rsplit(":", 1)[1])
    body = json.dumps({"prompt": PROMPT, "video": b64(videos / "red.mp4"), "questions": Q_JSON}).encode()
    head = (f"POST /v1/score HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    with time_limit(60, "clients that leave"):
        _raw_request(port, head, body[: len(body) // 2], close_after=True)  # gone while the body streams in
        for _ in range(3):
            _raw_request(port, head, body, close_after=True)  # gone while its video waits or is scored
        time.sleep(0.3)
        assert wait_idle(base)["status"] == "ok"
    assert files_in(temp) == []
    assert post(base, prompt=PROMPT, video_path="red.mp4", questions=Q_JSON).status_code == 200


def test_a_burst_of_concurrent_clients_is_served(service, videos, serve_evaluator):
    base, temp = service
    want = [q.p_yes for q in serve_evaluator.score(videos / "red.mp4", PROMPT, QS).questions]
    got, failures = [], []

    def client_thread(i: int):
        with ScoreClient(base, TOKEN) as client:
            for j in range(2):
                try:
                    video = videos / "red.mp4" if (i + j) % 2 else (videos / "red.mp4").read_bytes()
                    got.append([q.p_yes for q in client.score(video, PROMPT, QS, id=f"{i}-{j}").questions])
                except Exception as e:  # collected: an assert in a thread would be lost
                    failures.append(repr(e))

    with time_limit(120, "16 clients x 2 requests"):
        threads = [threading.Thread(target=client_thread, args=(i,)) for i in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert failures == [] and len(got) == 32
    assert all(p == pytest.approx(want, abs=1e-4) for p in got)
    assert wait_idle(base)["queued"] == 0 and files_in(temp) == []


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def test_memory_stays_flat_over_a_hundred_requests(service, videos):
    base, temp = service
    one_question = [Q_JSON[0]]
    with ScoreClient(base, TOKEN) as client, time_limit(150, "a hundred requests"):
        video = (videos / "red.mp4").read_bytes()
        for _ in range(20):  # warm: allocator pools, caches, the threadpool
            client.score(video, PROMPT, one_question)
        before = _rss_mb()
        for i in range(100):
            client.score(video if i % 2 else videos / "blue.mp4", PROMPT, one_question)
        after = _rss_mb()
    assert after - before < 100, (before, after)  # a leak of one decoded clip per request would pass this by far
    assert files_in(temp) == []


# ---- the log, the command ---------------------------------------------------------------------------------------

def test_one_log_line_per_request_with_its_id_status_and_milliseconds(service, caplog):
    base, _ = service
    with caplog.at_level(logging.INFO, logger="fingereval.serve"):
        r = httpx.post(base + "/v1/score", json={"prompt": "x"}, headers={"X-Request-ID": "abc-123"})
        assert r.headers["x-request-id"] == "abc-123"
        other = httpx.get(base + "/health")
        time.sleep(0.1)
    lines = [rec.getMessage() for rec in caplog.records if rec.name == "fingereval.serve"]
    mine = [line for line in lines if "abc-123" in line]
    assert len(mine) == 1 and " POST /v1/score 401 " in mine[0] and mine[0].endswith(" ms")
    assert sum(other.headers["x-request-id"] in line for line in lines) == 1


def test_serve_refuses_another_address_without_a_token(tiny_model_dir):
    from fingereval.cli import app as cli
    from fingereval.cli.serve import is_loopback

    r = CliRunner().invoke(cli, ["serve", "--model", str(tiny_model_dir), "--host", "0.0.0.0"],
                           env={"FINGEREVAL_SERVE_TOKEN": ""})
    assert r.exit_code == 2 and "not a loopback address: give --token" in r.output
    assert len(r.output.strip().splitlines()) == 1
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and not is_loopback("0.0.0.0")


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_the_serve_command_runs_and_stops_cleanly(tiny_model_dir, videos, tmp_path, log_format):
    port, tmp = free_port(), tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "FINGEREVAL_SERVE_TOKEN": TOKEN, "OMP_NUM_THREADS": "1", "TMPDIR": str(tmp)}
    cmd = [sys.executable, "-m", "fingereval.cli", "serve", "--model", str(tiny_model_dir), "--port", str(port),
           "--allow-dir", str(videos), "--size", str(SERVE_SIZE), "--max-frames", str(SERVE_FRAMES),
           "--log-format", log_format]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        with time_limit(90, "fingereval serve starting"):
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                        break
                except httpx.TransportError:
                    assert proc.poll() is None, proc.stdout.read()
                    time.sleep(0.2)
        with ScoreClient(f"http://127.0.0.1:{port}", TOKEN) as client:
            result = client.score(videos / "red.mp4", PROMPT, QS, id="cmd")
        assert result.id == "cmd" and len(result.questions) == 3
        assert [p.name.startswith("fingereval-serve-") for p in tmp.iterdir()] == [True]  # its uploads' folder
    finally:
        proc.send_signal(signal.SIGINT)
        output = proc.communicate(timeout=30)[0]
    assert proc.returncode == 0, output
    assert "POST /v1/score 200" in output and "Traceback" not in output
    assert files_in(tmp) == []  # the uploads' folder goes with the service
    if log_format == "json":  # every log line, uvicorn's too, is one JSON object (the first line is the banner)
        lines = [json.loads(line) for line in output.splitlines()[1:] if line.strip()]
        assert {"uvicorn.error", "fingereval.serve"} <= {line["logger"] for line in lines}
    bad = CliRunner().invoke(cli_app, ["serve", "--model", str(tiny_model_dir), "--log-format", "xml"])
    assert bad.exit_code == 2 and "--log-format 'xml'" in bad.output


def test_the_reward_function_in_the_docs_runs_against_the_service(service, videos, monkeypatch):
    base, temp = service
    doc = (Path(__file__).resolve().parents[1] / "docs" / "serve.md").read_text(encoding="utf-8")
    code = doc.split("## A reward function for an RL trainer")[1].split("```python\n")[1].split("```")[0]
    monkeypatch.setenv("FINGEREVAL_SERVE_URL", base)
    monkeypatch.setenv("FINGEREVAL_SERVE_TOKEN", TOKEN)
    namespace: dict = {}
    exec(compile(code, "docs/serve.md", "exec"), namespace)
    rewards = namespace["finger_reward"]([PROMPT, PROMPT, PROMPT],
                                         [(videos / "red.mp4").read_bytes(), str(videos / "blue.mp4"), b"junk"])
    assert len(rewards) == 3 and all(0.0 < r < 1.0 for r in rewards[:2]) and rewards[2] == 0.0
    assert rewards[0] != rewards[1]  # two different videos
    namespace["scorer"].close()
    assert files_in(temp) == []
