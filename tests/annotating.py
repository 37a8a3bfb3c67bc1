"""The annotation tests' data: a small FingER-Instruct file on real short H.264 videos (Chromium plays them), one
broken video among them, and the app on a real uvicorn server."""
from __future__ import annotations

import contextlib
import json
from pathlib import Path

from conftest import write_video
from serving import served

TOKEN = "annotate-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# a users file's people: name -> (token, role)
PEOPLE = {"ann": ("ann-token-0123456789", "annotator"), "bob": ("bob-token-0123456789", "annotator"),
          "judge": ("judge-token-0123456789", "adjudicator")}


def bearer(name: str) -> dict[str, str]:
    """The Authorization header of one of PEOPLE."""
    return {"Authorization": f"Bearer {PEOPLE[name][0]}"}


def write_users(path: Path) -> Path:
    """A users file (YAML) of PEOPLE."""
    lines = ["users:"] + [f"  - {{name: {name}, token: {token}, role: {role}}}" for name, (token, role) in PEOPLE.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def jsonl_rows(text: str) -> list[dict]:
    """The objects of JSON Lines text, split on "\n" only (U+2028 and friends stay inside their strings)."""
    return [json.loads(line) for line in text.split("\n") if line.strip()]

# (video, dimension, entity, question, answer in the file, reason in the file)
ROWS = [
    ("red.mp4", "dynamic_degree", "red square", "Does the red square move?", "yes", "The square slides to the right."),
    ("red.mp4", "text_alignment", "red square", "Is the square red?", None, None),
    ("blue.mp4", "dynamic_degree", "blue square", "Does the blue square move?", "yes", "The square moves left."),
    ("blue.mp4", "visual_quality", "blue square", "Is the blue square sharp?", "yes", "Its edges are crisp."),
    ("broken.mp4", "visual_quality", None, "Is the video free of blur?", None, None),
]


def make_dataset(root: Path) -> Path:
    """root/qa.jsonl with videos relative to it; broken.mp4 is not a video."""
    root.mkdir(parents=True, exist_ok=True)
    write_video(root / "red.mp4", codec="libx264", frames=12)
    write_video(root / "blue.mp4", codec="libx264", frames=12, colour=(30, 30, 220), moving=False)
    (root / "broken.mp4").write_bytes(b"this is not a video file at all" * 8)
    lines = []
    for i, (video, dimension, entity, question, answer, reason) in enumerate(ROWS):
        row = {"id": f"q{i}", "video": video, "prompt": "a square on a grey background", "dimension": dimension,
               "entity": entity, "question": question, "good_answer": "yes", "answer": answer, "reason": reason,
               "source": "test"}  # a field fingereval does not know: kept through the export
        lines.append(json.dumps({k: v for k, v in row.items() if v is not None}))
    path = root / "qa.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@contextlib.contextmanager
def annotation_server(db: Path, data: Path | None, token: str | None = TOKEN, per_item: int = 2, **settings):
    """(base URL, store) of the app on a free 127.0.0.1 port; `settings` are AnnotateSettings fields
    (users=load_users(...) with token=None for the users mode)."""
    from fingereval.annotate.app import create_app
    from fingereval.annotate.store import open_store

    store, _ = open_store(db, data)
    with served(create_app(store, per_item=per_item, token=token, **settings)) as base:
        yield base, store
