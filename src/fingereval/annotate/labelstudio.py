"""Label Studio interchange: FingER-Instruct items out as Label Studio tasks, its JSON export back in.

`to_labelstudio` writes two files into a folder:

- `tasks.json`: one task per question. What the labeling page shows sits at the top of the task's
  `data` (video URL, prompt, question, dimension, entity, reason, item id); the whole record rides
  along under `data.fingereval`, so the export alone rebuilds the FingER-Instruct line.
- `config.xml`: the labeling interface: the video, a yes/no choice (keys y / n), the written
  reason with its verdict (accept / reject / edit) and a box for the edited reason.

`from_labelstudio` reads Label Studio's JSON export (a list of tasks, each with its annotations)
and writes the items whose annotators agree, by the same rules as our own app
(`fingereval.annotate.agreement.agree`). An annotation marked as ground truth in Label Studio is
the adjudicator's decision. A task that cannot be read is reported with its id and skipped.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pydantic import ValidationError

from fingereval.annotate.agreement import Label, agree
from fingereval.annotate.store import AnnotateRecord, check_label, probe_items, read_items
from fingereval.data.instruct import InstructRecord, write_instruct
from fingereval.errors import DataError
from fingereval.io import read_text, validation_message

TASKS_FILE = "tasks.json"
CONFIG_FILE = "config.xml"
LOCAL_FILES_PREFIX = "/data/local-files/?d="  # Label Studio's own server for files under its document root
ANSWER, VERDICT, REASON = "answer", "reason_verdict", "reason"  # control names in the config, read back in the export

LABEL_CONFIG = f"""<View>
  <Header value="$prompt" size="5"/>
  <Video name="video" value="$video"/>
  <Header value="$question" size="4"/>
  <Text name="entity" value="$entity"/>
  <Choices name="{ANSWER}" toName="video" choice="single-radio" required="true" showInline="true">
    <Choice value="yes" hotkey="y"/>
    <Choice value="no" hotkey="n"/>
  </Choices>
  <Header value="The written reason" size="6"/>
  <Text name="written_reason" value="$reason"/>
  <Choices name="{VERDICT}" toName="video" choice="single-radio" showInline="true">
    <Choice value="accept" hotkey="a"/>
    <Choice value="reject" hotkey="r"/>
    <Choice value="edit" hotkey="e"/>
  </Choices>
  <TextArea name="{REASON}" toName="video" editable="true" maxSubmissions="1" rows="3"
            placeholder="the reason, edited (only read when the verdict is edit)"/>
</View>
"""


def video_url(item_id: str, video: str, video_root: Path, url_prefix: str) -> str:
    """`url_prefix` + the video's path under `video_root` (URL-quoted), as Label Studio will fetch it."""
    rel = os.path.relpath(video, video_root.absolute())
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        raise DataError(f"item {item_id}: video {video} is not under the video root {video_root}; give "
                        f"--video-root a folder that holds every video")
    return url_prefix + quote(Path(rel).as_posix())


def to_task(item: AnnotateRecord, url: str) -> dict[str, Any]:
    """One Label Studio task: the fields the page shows, and the record itself under `fingereval`."""
    record = item.model_dump(mode="json", exclude_none=True)
    return {"data": {"video": url, "video_path": item.video, "prompt": item.prompt, "question": item.question,
                     "dimension": item.dimension, "entity": item.entity or "", "reason": item.reason or "",
                     "item_id": item.id, "fingereval": record}}


@dataclass
class Tasks:
    """What `to_labelstudio` wrote, and the items it left out because their video will not play."""

    tasks_file: Path
    config_file: Path
    count: int
    skipped: list[str] = field(default_factory=list)  # one note per item left out, naming it and why


def to_labelstudio(qa_jsonl: str | Path, out_dir: str | Path, video_root: str | Path | None = None,
                   url_prefix: str = LOCAL_FILES_PREFIX) -> Tasks:
    """Write OUT_DIR/tasks.json and OUT_DIR/config.xml: a task per item whose video plays.

    Video URLs are `url_prefix` + each video's path under `video_root` (default: the questions file's
    folder); the default prefix is Label Studio's local-files server.
    """
    qa = Path(qa_jsonl)
    root = Path(video_root) if video_root is not None else qa.parent
    # the app's reader and video probe: the same item ids, bad lines refused with their number, and an
    # item whose video will not play left out with a note, as the app marks and skips it
    items = probe_items(read_items(qa))
    tasks = [to_task(i.record, video_url(i.item_id, i.record.video, root, url_prefix)) for i in items if i.playable]
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = Tasks(out / TASKS_FILE, out / CONFIG_FILE, len(tasks),
                    [f"item {i.item_id}: {i.note}" for i in items if not i.playable])
    written.tasks_file.write_text(json.dumps(tasks, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    written.config_file.write_text(LABEL_CONFIG, encoding="utf-8")
    return written


class TaskProblem(DataError):
    """One task of an export that cannot be read; the rest of the export is still converted."""


@dataclass
class Conversion:
    """What `from_labelstudio` did: records written, items left out and why, tasks it could not read."""

    out: Path
    written: int = 0
    adjudicated: int = 0
    undecided: list[str] = field(default_factory=list)  # item ids with labels but no agreement yet
    unlabelled: list[str] = field(default_factory=list)  # item ids without a submitted annotation
    problems: list[TaskProblem] = field(default_factory=list)


def _choice(result: list[dict], name: str) -> str | None:
    for region in result:
        if region.get("from_name") == name:
            choices = (region.get("value") or {}).get("choices") or []
            return str(choices[0]) if choices else None
    return None


def _text(result: list[dict], name: str) -> str | None:
    for region in result:
        if region.get("from_name") == name:
            text = (region.get("value") or {}).get("text") or []
            joined = "\n".join(str(t) for t in text).strip()
            return joined or None
    return None


def _annotator(annotation: dict) -> str:
    """Label Studio's user id (the JSON export holds the id, or the user object in older versions)."""
    who = annotation.get("completed_by")
    if isinstance(who, dict):
        return str(who.get("email") or who.get("id"))
    return f"user{who}"


def _label(where: str, item_id: str, annotation: dict, has_reason: bool) -> Label:
    """The annotation as one of our labels, checked as the app checks a posted label."""
    number = annotation.get("id")
    result = annotation.get("result")
    if not isinstance(result, list):
        raise TaskProblem(f"{where}: annotation {number} has no result list; re-export the project as JSON")
    answer = _choice(result, ANSWER)
    if answer is None:
        raise TaskProblem(f"{where}: annotation {number} has no '{ANSWER}' choice; answer yes or no in Label Studio "
                          f"(or skip the task) and export again")
    verdict = _choice(result, VERDICT)
    if verdict in ("accept", "reject") and not has_reason:
        verdict = None  # the page shows the verdict for every task; with no reason written there is nothing to judge
    label = Label(item_id=item_id, annotator=_annotator(annotation), answer=answer, reason_verdict=verdict,
                  reason=_text(result, REASON))
    try:
        check_label(label, has_reason=has_reason or verdict == "edit")
    except ValueError as e:
        raise TaskProblem(f"{where}: annotation {number}: {e}; fix it in Label Studio and export again") from None
    return label


def _when(annotation: dict) -> tuple[str, int]:
    """When an annotation was last saved (ISO times sort as text), its id breaking ties."""
    stamp = annotation.get("updated_at") or annotation.get("created_at") or ""
    number = annotation.get("id")
    return str(stamp), number if isinstance(number, int) else 0


def _read_task(source: Path, n: int, task: Any) -> tuple[str, AnnotateRecord, list[Label], Label | None]:
    """(item id, the task's record, its annotators' labels, the ground-truth label if one is marked)."""
    if not isinstance(task, dict):
        raise TaskProblem(f"{source} task #{n}: expected a JSON object, got {type(task).__name__}")
    where = f"{source} task {task.get('id', '#' + str(n))}"
    data = task.get("data")
    if not isinstance(data, dict) or not isinstance(data.get("fingereval"), dict):
        if "annotations" not in task and ANSWER in task:
            raise TaskProblem(f"{where}: this is a JSON-MIN export; export the project as JSON instead")
        raise TaskProblem(f"{where}: its data has no 'fingereval' record; convert only projects whose tasks came "
                          f"from `fingereval annotate to-labelstudio`")
    item_id = str(data.get("item_id") or data["fingereval"].get("id") or task.get("id"))
    where += f" (item {item_id})"
    annotations = task.get("annotations", [])
    if not isinstance(annotations, list):
        raise TaskProblem(f"{where}: 'annotations' is not a list; re-export the project as JSON")
    try:
        record = AnnotateRecord.model_validate(data["fingereval"])
    except ValidationError as e:
        raise TaskProblem(f"{where}: its fingereval record is not valid ({validation_message(e)})") from None
    if not all(isinstance(a, dict) for a in annotations):
        raise TaskProblem(f"{where}: an annotation is not a JSON object; re-export the project as JSON")
    labels, ground_truth = [], None
    for annotation in sorted(annotations, key=_when):  # oldest first: agree() keeps each annotator's latest
        if annotation.get("was_cancelled"):
            continue  # the annotator skipped this task
        label = _label(where, item_id, annotation, has_reason=bool(record.reason))
        if annotation.get("ground_truth"):
            ground_truth = label
        else:
            labels.append(label)
    return item_id, record, labels, ground_truth


def load_export(export_json: str | Path) -> list[Any]:
    """The export's list of tasks; a file that is not one raises DataError."""
    p = Path(export_json)
    try:
        tasks = json.loads(read_text(p, "Label Studio export", hint="export the project as JSON in Label Studio"))
    except json.JSONDecodeError as e:
        raise DataError(f"Label Studio export {p} is not valid JSON ({e.msg} at line {e.lineno}); "
                        f"export the project as JSON") from None
    if not isinstance(tasks, list):
        raise DataError(f"Label Studio export {p} holds a {type(tasks).__name__}, not a list of tasks; "
                        f"export the project as JSON (not JSON-MIN, CSV or a snapshot's metadata)")
    return tasks


def from_labelstudio(export_json: str | Path, out_jsonl: str | Path) -> Conversion:
    """Write the agreed (or adjudicated) items of a Label Studio JSON export as FingER-Instruct JSONL."""
    source = Path(export_json)
    done = Conversion(out=Path(out_jsonl))
    records: list[InstructRecord] = []
    for n, task in enumerate(load_export(source)):
        try:
            item_id, record, labels, ground_truth = _read_task(source, n, task)
        except TaskProblem as e:
            done.problems.append(e)
            continue
        agreed = agree(labels, record.reason, ground_truth)
        if agreed is None:
            (done.undecided if labels else done.unlabelled).append(item_id)
            continue
        done.adjudicated += agreed.adjudicated
        records.append(InstructRecord.model_validate(
            {**record.model_dump(exclude_none=True), "answer": agreed.answer, "reason": agreed.reason}))
    write_instruct(done.out, records)
    done.written = len(records)
    return done
