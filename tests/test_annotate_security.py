"""The annotation app tried as an attacker and a careless client would (issue 26, item 6), on a real uvicorn
server: each test is one attack and what it must now get. Most failed on the app before these defences."""
from __future__ import annotations

import json
import select
import socket
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import pytest

from annotating import AUTH, PEOPLE, TOKEN, annotation_server, bearer, make_dataset, write_users
from conftest import time_limit, write_video


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("annotate-security") / "set")


@pytest.fixture(scope="module")
def users(tmp_path_factory):
    from fingereval.annotate.people import load_users

    return load_users(write_users(tmp_path_factory.mktemp("people") / "users.yaml"))


def is_error(response: httpx.Response, status: int, kind: str | None = None) -> dict:
    """The answer is `status` in the one error shape; returns its error object."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"type", "message"} and error["message"]
    if kind is not None:
        assert error["type"] == kind
    return error


def raw_exchange(base: str, head: bytes, chunks=(), seconds: float = 20.0) -> bytes:
    """Send `head` and then `chunks` over a plain socket, stopping as soon as the server answers; return all
    it sent before closing (or before `seconds` of silence: a server still waiting for the body sends nothing)."""
    url = urlsplit(base)
    with socket.create_connection((url.hostname, url.port), timeout=seconds) as s:
        s.sendall(head)
        for chunk in chunks:
            if select.select([s], [], [], 0)[0]:  # the server answered already
                break
            try:
                s.sendall(chunk)
            except OSError:  # it closed the connection: read what it said
                break
        received = b""
        while True:
            try:
                part = s.recv(65536)
            except TimeoutError:
                break
            except ConnectionResetError:
                break
            if not part:
                break
            received += part
    return received


def status_of(raw: bytes) -> int | None:
    return int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/1.1 ") else None


# ---- bodies: the limit is checked on the headers, before a byte is read ----

def test_a_login_body_of_any_size_is_refused_on_its_headers(data, tmp_path):
    """Before: /login buffered the whole body and only then looked at it; the server waited for a gigabyte."""
    with time_limit(60, "huge login"), annotation_server(tmp_path / "a.sqlite", data) as (base, _):
        raw = raw_exchange(base, b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1073741824\r\n"
                                 b"Content-Type: application/x-www-form-urlencoded\r\n\r\ntoken=")
        assert status_of(raw) == 413, raw[:300]
        head, _, body = raw.partition(b"\r\n\r\n")
        assert b"connection: close" in head.lower()
        assert json.loads(body)["error"]["type"] == "PayloadTooLarge"
        assert "1 MB" in json.loads(body)["error"]["message"]  # the default, named


def test_a_chunked_body_is_cut_off_at_the_limit(data, tmp_path):
    """No Content-Length to refuse on: the body is counted as it streams and refused past the limit."""
    chunk = b"a" * 4096
    framed = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * 64 + [b"0\r\n\r\n"]  # 256 KB against a 10 KB limit
    with time_limit(60, "chunked login"), annotation_server(tmp_path / "c.sqlite", data, max_body_mb=0.01) as (base, _):
        raw = raw_exchange(base, b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
                                 b"Content-Type: application/x-www-form-urlencoded\r\n\r\n", framed)
        assert status_of(raw) == 413, raw[:300]
        assert b'"PayloadTooLarge"' in raw and b"0.01 MB" in raw


def test_an_api_body_over_the_limit_is_refused_before_reading_it(data, tmp_path):
    with time_limit(60, "huge label"), annotation_server(tmp_path / "l.sqlite", data) as (base, _):
        head = (f"POST /api/labels HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {TOKEN}\r\n"
                "Content-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n{").encode()
        assert status_of(raw_exchange(base, head)) == 413
        # and without the token it is 401, also on the headers: no token, no body read
        anonymous = raw_exchange(base, b"POST /api/labels HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                       b"Content-Length: 1073741824\r\n\r\n{")
        assert status_of(anonymous) == 401
        # a label of the largest allowed reason still fits the default limit
        r = httpx.post(f"{base}/api/labels", headers=AUTH, json={
            "item_id": "q0", "annotator": "ann", "answer": "yes", "reason_verdict": "edit", "reason": "\u00e9" * 10_000})
        assert r.status_code == 200, r.text


# ---- people, not names ----

def test_a_label_is_the_senders_and_only_adjudicators_adjudicate(data, tmp_path, users):
    """Before: the annotator and adjudicator were names the client declared, so anyone labelled as anyone."""
    with annotation_server(tmp_path / "u.sqlite", data, token=None, users=users) as (base, store):
        assert httpx.get(f"{base}/api/me", headers=bearer("ann")).json() == {"name": "ann", "role": "annotator",
                                                                              "mode": "users"}
        mine = httpx.post(f"{base}/api/labels", headers=bearer("ann"), json={"item_id": "q1", "answer": "no"})
        assert mine.status_code == 200, mine.text
        as_bob = httpx.post(f"{base}/api/labels", headers=bearer("ann"),
                            json={"item_id": "q1", "annotator": "bob", "answer": "yes"})
        assert "logged in as 'ann'" in is_error(as_bob, 403, "Forbidden")["message"]
        assert [(label.annotator, label.answer) for label in store.labels("q1")] == [("ann", "no")]
        # reading another person's queue is refused too; one's own is served without naming oneself
        is_error(httpx.get(f"{base}/api/next", params={"annotator": "bob"}, headers=bearer("ann")), 403)
        assert httpx.get(f"{base}/api/next", headers=bearer("ann")).json()["item_id"] == "q0"
        # an annotator cannot adjudicate, see the disagreements or export, whatever name they give
        for name in (None, "judge"):
            body = {"item_id": "q1", "answer": "yes"} | ({"adjudicator": name} if name else {})
            r = httpx.post(f"{base}/api/adjudications", headers=bearer("ann"), json=body)
            assert "only adjudicators" in is_error(r, 403, "Forbidden")["message"]
        is_error(httpx.get(f"{base}/api/disagreements", headers=bearer("bob")), 403)
        is_error(httpx.get(f"{base}/api/export", headers=bearer("bob")), 403)
        decided = httpx.post(f"{base}/api/adjudications", headers=bearer("judge"), json={"item_id": "q1", "answer": "yes"})
        assert decided.status_code == 200, decided.text
        assert store.adjudications()["q1"].annotator == "judge"
        assert httpx.get(f"{base}/api/export", headers=bearer("judge")).status_code == 200
        # the shared token of the one-person mode is not a key to this app
        is_error(httpx.get(f"{base}/api/me", headers=AUTH), 401, "Unauthorized")


def test_a_login_belongs_to_the_person_whose_token_was_typed(data, tmp_path, users):
    with annotation_server(tmp_path / "s.sqlite", data, token=None, users=users) as (base, store):
        r = httpx.post(f"{base}/login", data={"token": PEOPLE["bob"][0], "next": "/"})
        assert r.status_code == 303
        with httpx.Client(base_url=base, cookies=r.cookies) as bob:
            assert bob.get("/api/me").json()["name"] == "bob"
            assert bob.post("/api/labels", json={"item_id": "q0", "answer": "yes", "reason_verdict": "accept"}
                            ).status_code == 200
        assert [label.annotator for label in store.labels("q0")] == ["bob"]


# ---- sessions: logout, cookies ----

def test_logout_ends_the_session_even_for_a_kept_cookie(data, tmp_path):
    """Before: there was no logout, and the cookie (a function of the token) could not be revoked."""
    with annotation_server(tmp_path / "o.sqlite", data) as (base, _):
        first = httpx.post(f"{base}/login", data={"token": TOKEN})
        second = httpx.post(f"{base}/login", data={"token": TOKEN})
        cookie, other = first.cookies["fingereval_annotate"], second.cookies["fingereval_annotate"]
        assert cookie != other and TOKEN not in cookie  # a random session id, not derived from the token
        jar = {"fingereval_annotate": cookie}
        assert httpx.get(f"{base}/api/me", cookies=jar).status_code == 200
        out = httpx.post(f"{base}/logout", cookies=jar)
        assert out.status_code == 303 and out.headers["location"] == "/login"
        cleared = out.headers["set-cookie"].lower()
        assert cleared.startswith("fingereval_annotate=") and "max-age=0" in cleared
        is_error(httpx.get(f"{base}/api/me", cookies=jar), 401)  # the old cookie, replayed
        assert httpx.get(f"{base}/api/me", cookies={"fingereval_annotate": other}).status_code == 200  # another login


# ---- the login attempt limit ----

def test_wrong_tokens_are_limited_per_address_at_the_form_and_in_headers(data, tmp_path):
    """Before: any number of guesses, at /login or in an Authorization header."""
    with time_limit(60, "login limit"), annotation_server(tmp_path / "t.sqlite", data, login_failures=4) as (base, _):
        for guess in range(2):
            assert httpx.post(f"{base}/login", data={"token": f"guess{guess}"}).status_code == 401
        for guess in range(2):  # guessing in the header counts the same
            is_error(httpx.get(f"{base}/api/me", headers={"Authorization": f"Bearer guess{guess}"}), 401)
        refused = httpx.post(f"{base}/login", data={"token": TOKEN})  # now even the right token is refused
        assert refused.status_code == 429 and 1 <= int(refused.headers["retry-after"]) <= 60
        header = httpx.get(f"{base}/api/me", headers=AUTH)
        assert "try again in" in is_error(header, 429, "TooManyAttempts")["message"]
        assert 1 <= int(header.headers["retry-after"]) <= 60
        # another address is not blocked by this one's guesses
        elsewhere = httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2"))
        with elsewhere:
            assert elsewhere.get(f"{base}/api/me", headers=AUTH).status_code == 200


# ---- the video route ----

def test_only_playable_items_are_served(tmp_path):
    """Before: the route served any file the data file named, the items skipped as unplayable among them."""
    data = make_dataset(tmp_path / "set")
    (tmp_path / "secret.txt").write_text("not for the annotators")
    extra = {"id": "q5", "video": "../secret.txt", "prompt": "p", "dimension": "visual_quality", "question": "Q?",
             "good_answer": "yes"}
    data.write_text(data.read_text() + json.dumps(extra) + "\n")
    with annotation_server(tmp_path / "v.sqlite", data) as (base, store):
        assert {item.item_id for item in store.skipped()} == {"q4", "q5"}
        for item_id in ("q4", "q5"):
            r = httpx.get(f"{base}/api/videos/{item_id}", headers=AUTH)
            assert "is skipped" in is_error(r, 404, "NotFound")["message"]
            assert b"not for the annotators" not in r.content
        # a playable item's file that became something else after loading (here a playlist naming another
        # file) is refused at the moment it is asked for
        blue = (data.parent / "blue.mp4").name
        (data.parent / "red.mp4").write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:1.5,\n{blue}\n#EXT-X-ENDLIST\n")
        gone = httpx.get(f"{base}/api/videos/q0", headers=AUTH)
        assert "no longer a playable video" in is_error(gone, 404)["message"]


def test_the_media_type_comes_from_the_container_not_the_file_name(tmp_path):
    from fingereval.annotate.videos import MEDIA_TYPES
    from fingereval.video import ALLOWED_CONTAINERS

    assert MEDIA_TYPES.keys() == ALLOWED_CONTAINERS.keys()  # every container the gate allows has its media type
    root = tmp_path / "set"
    write_video(root / "page.mp4", codec="libx264", frames=6).rename(root / "page.html")  # a name a browser renders
    (root / "qa.jsonl").write_text(json.dumps({"id": "x", "video": "page.html", "prompt": "p", "dimension": "visual_quality",
                                               "question": "Q?", "good_answer": "yes"}) + "\n")
    with annotation_server(tmp_path / "m.sqlite", root / "qa.jsonl") as (base, _):
        r = httpx.get(f"{base}/api/videos/x", headers=AUTH)
        assert r.status_code == 200 and r.content == (root / "page.html").read_bytes()
        assert r.headers["content-type"] == "video/mp4" and r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["content-disposition"].startswith("inline")


@pytest.mark.parametrize("item_id", ["a/b", "what?x=1", "tag#2", "50%25", "sp ace", "../up", "é/ü", "/lead"])
def test_item_ids_with_url_characters_get_a_working_video_url(tmp_path, item_id):
    """Before: the URL held the id as it was, so `/ ? #` sent the player to another route or cut the id."""
    root = tmp_path / "set"
    video = write_video(root / "red.mp4", codec="libx264", frames=6)
    (root / "qa.jsonl").write_text(json.dumps({"id": item_id, "video": "red.mp4", "prompt": "p", "dimension": "vq",
                                               "question": "Q?", "good_answer": "yes"}) + "\n")
    with annotation_server(tmp_path / "i.sqlite", root / "qa.jsonl") as (base, _):
        item = httpx.get(f"{base}/api/next", params={"annotator": "ann"}, headers=AUTH).json()
        assert item["item_id"] == item_id
        url = httpx.URL(base).join(item["video_url"])
        assert url.raw_path.decode().removeprefix("/api/videos/") == quote(item_id, safe="")  # one path segment
        r = httpx.get(url, headers=AUTH)
        assert r.status_code == 200 and r.content == video.read_bytes()


def test_an_id_a_url_cannot_hold_is_refused_at_load(tmp_path):
    from fingereval.annotate.store import read_items
    from fingereval.errors import DataError

    path = tmp_path / "qa.jsonl"
    path.write_text(json.dumps({"id": "..", "video": "a.mp4", "prompt": "p", "dimension": "vq", "question": "Q?",
                                "good_answer": "yes"}) + "\n")
    with pytest.raises(DataError, match=r"line 1: item id '\.\.' cannot be part of a URL"):
        read_items(path)


def test_range_errors_are_in_the_one_shape(data, tmp_path):
    size = (data.parent / "red.mp4").stat().st_size
    with annotation_server(tmp_path / "r.sqlite", data) as (base, _):
        is_error(httpx.get(f"{base}/api/videos/q0", headers=AUTH | {"Range": "pages=1-2"}), 400)
        past = httpx.get(f"{base}/api/videos/q0", headers=AUTH | {"Range": f"bytes={size + 10}-"})
        is_error(past, 416)
        assert past.headers["content-range"] == f"bytes */{size}"


# ---- one error shape, no absolute paths ----

def test_every_error_has_the_services_shape_and_no_host_path(tmp_path):
    """Before: errors were FastAPI's {"detail": ...}, and some named the database's or the video's absolute path."""
    data = make_dataset(tmp_path / "set")
    roots = [str(data.parent.absolute()), str(tmp_path.absolute())]
    with annotation_server(tmp_path / "e.sqlite", data) as (base, _):
        (data.parent / "blue.mp4").rename(data.parent / "blue-moved.mp4")  # a video gone after loading
        json_type = AUTH | {"Content-Type": "application/json"}
        answers = [
            is_error(httpx.post(f"{base}/api/labels", headers=AUTH, json={"item_id": "nope", "annotator": "a",
                                                                            "answer": "yes"}), 404, "NotFound"),
            is_error(httpx.post(f"{base}/api/labels", headers=AUTH, json={"item_id": "q4", "annotator": "a",
                                                                            "answer": "yes"}), 422),
            is_error(httpx.post(f"{base}/api/labels", headers=json_type, content=b"{not json"), 400, "BadJSON"),
            is_error(httpx.post(f"{base}/api/labels", headers=AUTH, json={"item_id": "q0"}), 422, "InvalidRequest"),
            is_error(httpx.get(f"{base}/api/nowhere", headers=AUTH), 404, "NotFound"),
            is_error(httpx.delete(f"{base}/api/labels", headers=AUTH), 405, "MethodNotAllowed"),
            is_error(httpx.get(f"{base}/api/videos/q2", headers=AUTH), 404),
            is_error(httpx.get(f"{base}/api/videos/q4", headers=AUTH), 404),
        ]
        skipped = httpx.get(f"{base}/api/skipped", headers=AUTH).json()
        shown = httpx.get(f"{base}/api/next", params={"annotator": "a"}, headers=AUTH).json()
    assert "blue.mp4" in answers[6]["message"] and "no longer a playable video" in answers[6]["message"]
    assert [s["item_id"] for s in skipped] == ["q4"] and "broken.mp4" in skipped[0]["note"]  # named, but relative
    assert "broken.mp4" in answers[1]["message"] and "broken.mp4" in answers[7]["message"]
    assert shown["video"] == "red.mp4"
    for text in [json.dumps(answers), json.dumps(skipped), json.dumps(shown)]:
        assert not any(root in text for root in roots), text


# ---- browsers: redirects, other sites, headers ----

@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example/",
                                    "/\t/evil.example/", "/api/../\\evil.example", "javascript:alert(1)"])
def test_the_login_never_redirects_off_the_app(data, tmp_path, target):
    """Before: `/\\evil.example` passed the check (a browser reads it as //evil.example)."""
    with annotation_server(tmp_path / "n.sqlite", data) as (base, _):
        r = httpx.post(f"{base}/login", data={"token": TOKEN, "next": target})
        assert r.status_code == 303 and r.headers["location"] == "/"
        kept = httpx.post(f"{base}/login", data={"token": TOKEN, "next": "/adjudicate?x=1"})
        assert kept.headers["location"] == "/adjudicate?x=1"


def test_a_page_of_another_site_cannot_log_a_person_in_or_out(data, tmp_path):
    """Login CSRF: a page elsewhere posting someone's token to /login would log the visitor in as that person
    (their labels then filed under another name). Browsers name the posting page in Origin."""
    with annotation_server(tmp_path / "f.sqlite", data) as (base, _):
        for origin in ("http://evil.example", "null", base.replace("127.0.0.1", "localhost")):
            r = httpx.post(f"{base}/login", data={"token": TOKEN}, headers={"Origin": origin})
            assert r.status_code == 403 and "set-cookie" not in r.headers, origin
        ours = httpx.post(f"{base}/login", data={"token": TOKEN}, headers={"Origin": base})
        assert ours.status_code == 303 and "fingereval_annotate" in ours.cookies
        jar = {"fingereval_annotate": ours.cookies["fingereval_annotate"]}
        assert httpx.post(f"{base}/logout", cookies=jar, headers={"Origin": "http://evil.example"}).status_code == 403
        assert httpx.get(f"{base}/api/me", cookies=jar).status_code == 200  # still logged in


def test_an_open_app_answers_only_its_own_host_name(data, tmp_path):
    """DNS rebinding: a web page whose name resolves to 127.0.0.1 reached the open (no token) app as itself."""
    with annotation_server(tmp_path / "h.sqlite", data, token=None) as (base, store):
        port = urlsplit(base).port
        for host in ("evil.example", f"evil.example:{port}", "127.0.0.1.evil.example"):
            r = httpx.post(f"{base}/api/labels", headers={"Host": host}, json={"item_id": "q1", "annotator": "x",
                                                                                "answer": "yes"})
            is_error(r, 400, "InvalidHost")
        assert store.labels() == []
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}"):
            assert httpx.get(f"{base}/api/me", headers={"Host": host}).status_code == 200


def test_a_cross_site_form_cannot_post_a_label(data, tmp_path):
    """A page elsewhere can send text/plain without asking (no CORS preflight); the JSON routes refuse it.
    (This held before too: kept so that it stays so.)"""
    with annotation_server(tmp_path / "x.sqlite", data, token=None) as (base, store):
        body = json.dumps({"item_id": "q1", "annotator": "x", "answer": "yes"})
        r = httpx.post(f"{base}/api/labels", content=body, headers={"Content-Type": "text/plain"})
        assert r.status_code in (400, 415, 422) and "error" in r.json()
        assert store.labels() == []


def test_pages_forbid_framing_sniffing_and_outside_scripts(data, tmp_path):
    with annotation_server(tmp_path / "p.sqlite", data) as (base, _):
        for path, headers in (("/", AUTH), ("/adjudicate", AUTH), ("/", {}), ("/login", {})):
            r = httpx.get(base + path, headers=headers)
            csp = r.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp, path
            assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
        for path in ("/api/me", "/api/nowhere"):
            assert httpx.get(base + path, headers=AUTH).headers["x-content-type-options"] == "nosniff"
        form = httpx.get(f"{base}/login", params={"next": "/?a='><script>alert(1)</script>"}).text
        assert "<script>alert(1)" not in form


# ---- the server the CLI runs: slow clients, log lines ----

def test_cli_serve_ends_slow_headers_and_escapes_client_text_in_its_log(data, tmp_path):
    """Before: `annotate serve` ran plain uvicorn, which waits for ever on a client that stops mid-headers, and
    had no request log of its own; now it runs the service's connection rules and one escaped line per request."""
    import subprocess
    import sys
    import time

    from serving import free_port

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "fingereval.cli", "annotate", "serve", "--data", str(data),
                               "--db", str(tmp_path / "cli.sqlite"), "--port", str(port), "--token", TOKEN,
                               "--header-timeout", "1", "--log-level", "info"], stderr=subprocess.PIPE, text=True)
    try:
        with time_limit(90, "annotate serve"):
            while True:
                try:
                    assert httpx.get(f"{base}/api/me", headers=AUTH).status_code == 200
                    break
                except httpx.TransportError:
                    assert server.poll() is None, server.stderr.read()
                    time.sleep(0.2)
            slow = raw_exchange(base, b"GET /api/me HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # the headers never end
            assert status_of(slow) == 408 and b'"RequestTimeout"' in slow, slow[:300]
            is_error(httpx.get(f"{base}/api/%0AFORGED%20200%20OK", headers=AUTH), 404)
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=30)
    assert "FORGED" in stderr and "\\x0aFORGED" in stderr  # logged, its line break written as an escape
    assert not any(line.startswith("FORGED") for line in stderr.splitlines())
