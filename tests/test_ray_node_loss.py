"""A machine lost mid-batch (issue 26 item 9): on a Ray cluster of several nodes, a node removed while its worker
scores a video loses nothing and duplicates nothing; the video goes back to the queue and the batch finishes on
the node that is left. CPU-only nodes with a small object store, the real tiny model, bounded in time."""
from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import write_video
from fingereval.config import ScoringConfig
from fingereval.ray_batch import run_manifest_ray

import ray  # noqa: E402  (the test extra holds it: no skip)
from ray.cluster_utils import Cluster  # noqa: E402

ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # Ray workers cannot import this test module

QUESTIONS = [{"id": "q1", "dimension": "text_alignment", "entity": "square", "text": "Does a square appear?",
              "good_answer": "yes"}]
STORE = 80 * 2**20  # bytes of object store per node: the results are small JSON


@pytest.fixture()
def cluster():
    """A head node (the driver's; one CPU) and a second node (one CPU) that a test may take away."""
    tests = str(Path(__file__).parent)  # the workers import the test's answerer (tests/planted.py) by name
    made = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "object_store_memory": STORE,
                                                         "include_dashboard": False})
    made.add_node(num_cpus=1, object_store_memory=STORE)
    made.wait_for_nodes()
    ray.init(address=made.address, log_to_driver=False, runtime_env={"env_vars": {"PYTHONPATH": tests}})
    yield made
    ray.shutdown()
    made.shutdown()


def _remove_the_other_node_once_it_scores(cluster, where: Path, taken: list, stop: threading.Event) -> None:
    """Watch the answerer's notes (one file per video it starts, holding its node id); remove the node that is
    not the head's as soon as it starts a video, so that the video is in flight on it."""
    (other,) = cluster.worker_nodes
    while not stop.is_set():
        for note in where.iterdir():
            if note.read_text() == other.node_id:
                taken.append((note.name.split(".mp4")[0], other.node_id))
                cluster.remove_node(other)
                (where / "go").touch()  # the held videos may finish now: the node is gone mid-video
                return
        time.sleep(0.05)


@pytest.mark.timeout(150)
def test_a_node_removed_while_it_scores_loses_and_duplicates_nothing(cluster, tiny_model_dir, tmp_path):
    names = [f"v{i}" for i in range(6)]
    for i, name in enumerate(names):
        write_video(tmp_path / f"{name}.mp4", frames=8, size=56, colour=(200, 30 * i, 30))
    manifest = tmp_path / "m.jsonl"
    manifest.write_text("".join(json.dumps({"id": n, "video": f"{n}.mp4", "prompt": "A red square",
                                            "questions": QUESTIONS}) + "\n" for n in names))
    where, out, events, taken, stop = tmp_path / "notes", tmp_path / "r.jsonl", [], [], threading.Event()
    where.mkdir()
    config = ScoringConfig(model=str(tiny_model_dir), answerer="planted:Slow", size=56, max_frames=4,
                           answerer_options={"where": str(where), "seconds": 60.0})
    watcher = threading.Thread(target=_remove_the_other_node_once_it_scores, args=(cluster, where, taken, stop))
    watcher.start()
    try:
        summary = run_manifest_ray(config, manifest, out, workers=2, progress=False, on_event=events.append)
    finally:
        stop.set()
        watcher.join()
    assert len(taken) == 1, "the second node never started a video"
    lost, removed = taken[0]  # the video in flight on the node when it went, and that node
    assert (summary.done, summary.failed) == (6, 0), events
    records = [json.loads(line) for line in out.read_text().split("\n") if line]
    assert sorted(r["id"] for r in records) == names  # each video once: none lost, none written twice
    assert all(r.get("overall") is not None and "error" not in r for r in records)
    assert sum("lost its node" in e and f"{lost} goes back to the queue" in e for e in events) == 1, events
    # the lost video was started on the removed node, then scored again on the head's node
    started = [note.read_text() for note in where.iterdir() if note.name.startswith(f"{lost}.mp4.")]
    assert sorted(started) == sorted([removed, cluster.head_node.node_id])
