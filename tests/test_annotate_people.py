"""The annotation app's people and sessions without a server: the users file (one line naming a bad entry), the
login attempt limit and session expiry on a clock the test moves, and the CLI's refusals."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from annotating import PEOPLE, make_dataset, write_users
from fingereval.annotate.people import People, load_users
from fingereval.annotate.sessions import LoginThrottle, Sessions
from fingereval.errors import DataError

GOOD = "0123456789abcdef"  # 16 characters: the shortest token accepted


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_users_file_gives_each_token_its_person(tmp_path):
    people = People(users=load_users(write_users(tmp_path / "users.yaml")))
    assert people.mode == "users"
    for name, (token, role) in PEOPLE.items():
        person = people.by_token(token)
        assert (person.name, person.role) == (name, role)
    assert people.by_token("ann-token-012345678") is None  # one character short
    assert people.by_token("") is None and people.by_token("x\udcff") is None
    as_json = tmp_path / "users.json"
    as_json.write_text(json.dumps({"users": [{"name": "solo", "token": GOOD, "role": "adjudicator"}]}))
    assert [(u.name, u.role) for u in load_users(as_json)] == [("solo", "adjudicator")]


@pytest.mark.parametrize("text, message", [
    ("users:\n  - {name: ann, token: %s, role: annotator}\n  - {name: bob, token: %s, role: boss}\n" % (GOOD, GOOD + "x"),
     r"entry 2 \(name 'bob'\): role: Input should be 'annotator' or 'adjudicator'"),
    ("users:\n  - {name: ann, token: short, role: annotator}\n",
     r"entry 1 \(name 'ann'\): token: String should have at least 16 characters"),
    ("users:\n  - {name: ann, role: annotator}\n", r"entry 1 \(name 'ann'\): token: missing"),
    ("users:\n  - {name: ann, token: %s, role: annotator, admin: true}\n" % GOOD, r"entry 1 \(name 'ann'\): admin"),
    ("users:\n  - {name: ann, token: %s, role: annotator}\n  - {name: ann, token: %s, role: annotator}\n"
     % (GOOD, GOOD + "x"), r"entry 2 \(name 'ann'\) repeats the name of entry 1"),
    ("users:\n  - {name: ann, token: %s, role: annotator}\n  - {name: bob, token: %s, role: annotator}\n"
     % (GOOD, GOOD), r"entry 2 \(name 'bob'\) has the same token as entry 1"),
    ("users:\n  - {name: '  ', token: %s, role: annotator}\n" % GOOD, r"entry 1 \(name '  '\): name: .*blank"),
    ("users:\n  - {name: \"a\\nb\", token: %s, role: annotator}\n" % GOOD, r"entry 1 .*control characters"),
    ("users:\n  - {name: ann, token: \"%s x\", role: annotator}\n" % GOOD, r"entry 1 .*token must not hold spaces"),
    ("users: []\n", r"users: List should have at least 1 item"),
    ("- {name: ann}\n", r"holds a list, not a mapping with `users:`"),
    ("users: [\n", r"is not valid YAML at line 2"),
    ("", r"holds a NoneType"),
])
def test_a_bad_users_file_is_refused_in_one_line_naming_the_entry(tmp_path, text, message):
    path = tmp_path / "users.yaml"
    path.write_text(text)
    with pytest.raises(DataError, match=message) as caught:
        load_users(path)
    line = str(caught.value)
    assert "\n" not in line and str(path) in line
    assert GOOD not in line  # never the token itself


def test_a_missing_users_file_or_bad_json_says_so(tmp_path):
    with pytest.raises(DataError, match="users file .* not found"):
        load_users(tmp_path / "nope.yaml")
    bad = tmp_path / "users.json"
    bad.write_text('{"users": [')
    with pytest.raises(DataError, match="not valid JSON"):
        load_users(bad)


def test_the_shared_token_is_one_person_who_names_the_annotator():
    people = People(token=GOOD)
    person = people.by_token(GOOD)
    assert people.mode == "token" and person.name is None and person.role == "adjudicator"
    assert people.by_token(GOOD[:-1]) is None
    with pytest.raises(ValueError, match="not both"):
        People(token=GOOD, users=[])


def test_the_attempt_limit_counts_a_sliding_window_per_address():
    clock = Clock()
    throttle = LoginThrottle(max_failures=3, window_s=60, clock=clock)
    for _ in range(2):
        throttle.failed("10.0.0.1")
        clock.now += 10
    assert throttle.retry_after("10.0.0.1") is None  # 2 of 3
    throttle.failed("10.0.0.1")  # failures at 1000, 1010, 1020; now 1020
    assert throttle.retry_after("10.0.0.1") == 40  # until the first ages out at 1060
    assert throttle.retry_after("10.0.0.2") is None
    clock.now = 1059.5
    assert throttle.retry_after("10.0.0.1") == 1  # rounded up, never 0
    clock.now = 1060.0
    assert throttle.retry_after("10.0.0.1") is None  # two left in the window
    throttle.failed("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") == 10  # now 1010 is the oldest of three


def test_the_attempt_limit_forgets_the_least_recent_addresses_past_its_cap():
    clock = Clock()
    throttle = LoginThrottle(max_failures=1, window_s=60, max_addresses=3, clock=clock)
    for n in range(5):
        throttle.failed(f"10.0.0.{n}")
    assert [throttle.retry_after(f"10.0.0.{n}") is not None for n in range(5)] == [False, False, True, True, True]


def test_sessions_expire_end_at_logout_and_are_bounded_per_person():
    clock = Clock()
    sessions = Sessions(lifetime_s=3600, per_person=2, clock=clock)
    first, second = sessions.open("ann"), sessions.open("ann")
    bob = sessions.open("bob")
    assert sessions.get(first).name == "ann" and first != second
    third = sessions.open("ann")  # ann's oldest ends
    assert sessions.get(first) is None and sessions.get(second) and sessions.get(third) and sessions.get(bob)
    assert sessions.close(second) and sessions.get(second) is None and not sessions.close(second)
    clock.now += 3600
    assert sessions.get(third) is None and sessions.get(bob) is None
    assert sessions.get("made-up") is None


# ---- the CLI ----

def test_cli_serve_refuses_a_bad_users_file_and_token_with_users_in_one_line(tmp_path):
    from fingereval.cli import app

    data = make_dataset(tmp_path / "set")
    bad = tmp_path / "users.yaml"
    bad.write_text("users:\n  - {name: '[/b]', token: %s, role: chief}\n" % GOOD)
    result = CliRunner().invoke(app, ["annotate", "serve", "--data", str(data), "--db", str(tmp_path / "a.sqlite"),
                                      "--users", str(bad)])
    assert result.exit_code == 2 and "entry 1 (name '[/b]'): role" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "a.sqlite").exists()
    both = CliRunner().invoke(app, ["annotate", "serve", "--data", str(data), "--users", str(bad), "--token", GOOD])
    assert both.exit_code == 2 and "not both" in both.output
    public = CliRunner().invoke(app, ["annotate", "serve", "--data", str(data), "--host", "0.0.0.0",
                                      "--db", str(tmp_path / "b.sqlite")])
    assert public.exit_code == 2 and "--users" in public.output


def test_cli_serve_prints_data_text_as_it_is(tmp_path):
    """Before: the error line went through rich markup, so an item id like `[/b]` ended in a MarkupError traceback."""
    from fingereval.cli import app

    path = tmp_path / "qa.jsonl"
    row = {"id": "[/b]", "video": "a.mp4", "prompt": "p", "dimension": "vq", "question": "Q?", "good_answer": "yes"}
    path.write_text(json.dumps(row) + "\n" + json.dumps(row) + "\n")
    result = CliRunner().invoke(app, ["annotate", "serve", "--data", str(path), "--db", str(tmp_path / "a.sqlite")])
    assert result.exit_code == 2, result.exception  # 1 with the traceback of rich's MarkupError
    assert "item '[/b]' repeats line 1" in result.output
