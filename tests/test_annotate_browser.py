"""The annotation pages in a real headless Chromium: log in, label with the keyboard, adjudicate, log out; a users
file's people; item ids a URL must quote; a video that fails to load named as such, not as a codec problem."""
from __future__ import annotations

import json
import time

import httpx
import pytest

from annotating import AUTH, PEOPLE, TOKEN, annotation_server, make_dataset, write_users
from conftest import time_limit, write_video


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("annotate-browser") / "set")


def wait_until(page, expression: str, seconds: float = 30.0) -> None:
    """Poll a JavaScript expression until it is true. (Playwright's wait_for_function evaluates its predicate with
    eval, which the pages' Content-Security-Policy forbids; page.evaluate goes through the DevTools protocol.)"""
    end = time.monotonic() + seconds
    while not page.evaluate(expression):
        assert time.monotonic() < end, f"still false after {seconds} s: {expression}"
        page.wait_for_timeout(50)


def post(base, item_id, annotator, answer, verdict=None, reason=None):
    r = httpx.post(f"{base}/api/labels", headers=AUTH, json={
        "item_id": item_id, "annotator": annotator, "answer": answer, "reason_verdict": verdict, "reason": reason})
    assert r.status_code == 200, r.text


def test_an_annotator_labels_three_items_with_the_keyboard(page, data, tmp_path):
    with time_limit(90, "browser annotation"), annotation_server(tmp_path / "b.sqlite", data) as (base, _):
        # a second annotator, through the API, so that the three items are agreed
        post(base, "q0", "bob", "yes", "accept")
        post(base, "q1", "bob", "no")
        post(base, "q2", "bob", "no", "accept")

        page.goto(f"{base}/?annotator=ann")  # no cookie yet: the login form
        page.fill("#token", TOKEN)
        page.click("#login")
        page.wait_for_url(f"{base}/?annotator=ann")
        question = page.locator("#question")
        question.wait_for()
        assert question.text_content() == "Does the red square move?"
        assert page.locator("#entity").text_content() == "red square"
        assert page.locator("#prompt").text_content() == "a square on a grey background"

        # the video plays in the browser (H.264 over Range requests) and steps by one frame (8 fps)
        wait_until(page, "document.getElementById('player').readyState >= 2")
        page.keyboard.press(".")
        wait_until(page, "document.getElementById('frame').textContent === '1'")
        assert page.evaluate("document.getElementById('player').currentTime") == pytest.approx(0.125, abs=1e-3)

        # q0 has a reason: y shows it, a accepts it
        page.keyboard.press("y")
        assert page.locator("#reasonbox").is_visible()
        assert page.locator("#reason").text_content() == "The square slides to the right."
        page.keyboard.press("a")
        wait_until(page, "document.getElementById('question').textContent === 'Is the square red?'")
        assert page.locator("#done").text_content() == "1"
        assert not page.locator("#reasonbox").is_visible()

        # q1 has no reason: n answers it at once
        page.keyboard.press("n")
        wait_until(page, "document.getElementById('question').textContent === 'Does the blue square move?'")

        # q2: n, then e edits the reason, ctrl+enter saves
        page.keyboard.press("n")
        page.keyboard.press("e")
        page.locator("#edited").fill("The blue square stays in one place.")
        page.keyboard.press("Control+Enter")
        wait_until(page, "document.getElementById('question').textContent === 'Is the blue square sharp?'")
        assert page.locator("#done").text_content() == "3"
        assert page.locator("#left").text_content() == "1"

        rows = [json.loads(line) for line in httpx.get(f"{base}/api/export", headers=AUTH).text.splitlines()]
    assert [(row["id"], row["answer"], row.get("reason")) for row in rows] == [
        ("q0", "yes", "The square slides to the right."), ("q1", "no", None),
        ("q2", "no", "The blue square stays in one place.")]


def test_the_adjudication_page_settles_a_disagreement(page, data, tmp_path):
    with time_limit(90, "browser adjudication"), annotation_server(tmp_path / "j.sqlite", data, token=None) as (base, store):
        post(base, "q3", "ann", "yes", "accept")
        post(base, "q3", "bob", "no", "reject")
        page.goto(f"{base}/adjudicate")
        wait_until(page, "document.getElementById('count').textContent === '1 disagreements'")
        card = page.locator("#list .panel")
        assert card.locator(".question").text_content() == "Is the blue square sharp?"
        card.locator("button.no").click()
        card.locator("select.verdict").select_option("reject")
        card.locator("button.decide").click()
        wait_until(page, "document.getElementById('count').textContent === '0 disagreements'")
    (decided,) = [(item.item_id, agreed) for item, agreed in store.agreed() if agreed.adjudicated]
    assert decided[0] == "q3" and decided[1].answer == "no" and decided[1].reason is None


def log_in(page, base, token, target="/"):
    page.goto(base + target)
    page.fill("#token", token)
    page.click("#login")
    page.wait_for_url(base + target)


def test_a_person_of_the_users_file_labels_as_themselves_and_logs_out(page, data, tmp_path):
    from fingereval.annotate.people import load_users

    users = load_users(write_users(tmp_path / "users.yaml"))
    with time_limit(90, "browser people"), \
            annotation_server(tmp_path / "u.sqlite", data, token=None, users=users) as (base, store):
        log_in(page, base, PEOPLE["ann"][0])
        wait_until(page, "document.getElementById('question').textContent === 'Does the red square move?'")
        assert page.locator("#who").text_content() == "ann"  # named by the users file, not asked for
        assert not page.locator("#namebox").is_visible() and not page.locator("#rename").is_visible()
        assert not page.locator("#adjudicatelink").is_visible()  # an annotator
        page.keyboard.press("y")
        page.keyboard.press("r")
        wait_until(page, "document.getElementById('question').textContent === 'Is the square red?'")
        assert [(label.annotator, label.answer, label.reason_verdict) for label in store.labels()] == [
            ("ann", "yes", "reject")]

        page.goto(base + "/adjudicate")  # not hers to see
        wait_until(page, "!document.getElementById('notallowed').classList.contains('hidden')")
        assert "only adjudicators" in page.locator("#notallowed").text_content()

        page.click("#logout button")
        page.wait_for_url(base + "/login")
        assert page.context.cookies() == []
        page.goto(base + "/")
        assert page.locator("#token").is_visible()  # the login form again


def test_item_ids_with_url_characters_play_and_a_lost_video_is_not_blamed_on_the_codec(page, tmp_path):
    root = tmp_path / "set"
    write_video(root / "red.mp4", codec="libx264", frames=12)
    write_video(root / "blue.mp4", codec="libx264", frames=12, colour=(30, 30, 220))
    rows = [{"id": "a/b?c=1#d%20", "video": "red.mp4", "prompt": "p", "dimension": "vq", "question": "First?",
             "good_answer": "yes"},
            {"id": "gone", "video": "blue.mp4", "prompt": "p", "dimension": "vq", "question": "Second?",
             "good_answer": "yes"}]
    (root / "qa.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    with time_limit(90, "browser ids"), annotation_server(tmp_path / "i.sqlite", root / "qa.jsonl") as (base, _):
        log_in(page, base, TOKEN, "/?annotator=ann")
        wait_until(page, "document.getElementById('question').textContent === 'First?'")
        wait_until(page, "document.getElementById('player').readyState >= 2")  # it plays
        assert not page.locator("#videonote").is_visible()
        (root / "blue.mp4").unlink()  # after loading: the next item's video is gone
        page.keyboard.press("y")
        wait_until(page, "document.getElementById('question').textContent === 'Second?'")
        wait_until(page, "!document.getElementById('videonote').classList.contains('hidden')")
        note = page.locator("#videonote").text_content()
        assert "could not be loaded (404)" in note and "blue.mp4" in note and "codec" not in note


def test_an_image_to_video_item_shows_its_image_above_the_video(page, tmp_path):
    """The annotator sees the image the video was generated from, as the model was shown it; an item without one
    shows no empty image box."""
    from PIL import Image

    root = tmp_path / "i2v"
    write_video(root / "red.mp4", codec="libx264", frames=12)
    Image.new("RGB", (48, 32), (220, 30, 30)).save(root / "first.png")
    rows = [{"id": "with", "video": "red.mp4", "image": "first.png", "prompt": "a red square", "dimension":
             "text_alignment", "entity": None, "question": "Does the video keep the image's colour?",
             "good_answer": "yes", "answer": "yes"},
            {"id": "without", "video": "red.mp4", "prompt": "a red square", "dimension": "visual_quality",
             "entity": None, "question": "Is the video sharp?", "good_answer": "yes", "answer": "yes"}]
    (root / "qa.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    with time_limit(90, "browser image"), annotation_server(tmp_path / "i.sqlite", root / "qa.jsonl") as (base, _):
        page.goto(f"{base}/?annotator=ann")
        page.fill("#token", TOKEN)
        page.click("#login")
        page.locator("#question").wait_for()
        assert page.locator("#question").text_content() == "Does the video keep the image's colour?"
        # decoded by the browser at its own size: the bytes arrived through the authenticated route
        wait_until(page, "document.getElementById('condimage').naturalWidth === 48")
        assert page.locator("#imagebox").is_visible() and page.locator("#imagename").text_content().endswith("first.png")
        page.keyboard.press("y")  # no reason to check: answered at once
        wait_until(page, "document.getElementById('question').textContent === 'Is the video sharp?'")
        assert not page.locator("#imagebox").is_visible()
