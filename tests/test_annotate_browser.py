"""The annotation pages in a real headless Chromium: log in, label with the keyboard, adjudicate."""
from __future__ import annotations

import json

import httpx
import pytest

from annotating import AUTH, TOKEN, annotation_server, make_dataset
from conftest import time_limit


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("annotate-browser") / "set")


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
        page.wait_for_function("document.getElementById('player').readyState >= 2")
        page.keyboard.press(".")
        page.wait_for_function("document.getElementById('frame').textContent === '1'")
        assert page.evaluate("document.getElementById('player').currentTime") == pytest.approx(0.125, abs=1e-3)

        # q0 has a reason: y shows it, a accepts it
        page.keyboard.press("y")
        assert page.locator("#reasonbox").is_visible()
        assert page.locator("#reason").text_content() == "The square slides to the right."
        page.keyboard.press("a")
        page.wait_for_function("document.getElementById('question').textContent === 'Is the square red?'")
        assert page.locator("#done").text_content() == "1"
        assert not page.locator("#reasonbox").is_visible()

        # q1 has no reason: n answers it at once
        page.keyboard.press("n")
        page.wait_for_function("document.getElementById('question').textContent === 'Does the blue square move?'")

        # q2: n, then e edits the reason, ctrl+enter saves
        page.keyboard.press("n")
        page.keyboard.press("e")
        page.locator("#edited").fill("The blue square stays in one place.")
        page.keyboard.press("Control+Enter")
        page.wait_for_function("document.getElementById('question').textContent === 'Is the blue square sharp?'")
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
        page.wait_for_function("document.getElementById('count').textContent === '1 disagreements'")
        card = page.locator("#list .panel")
        assert card.locator(".question").text_content() == "Is the blue square sharp?"
        card.locator("button.no").click()
        card.locator("select.verdict").select_option("reject")
        card.locator("button.decide").click()
        page.wait_for_function("document.getElementById('count').textContent === '0 disagreements'")
    (decided,) = [(item.item_id, agreed) for item, agreed in store.agreed() if agreed.adjudicated]
    assert decided[0] == "q3" and decided[1].answer == "no" and decided[1].reason is None
