"""Drives a running Label Studio through label-studio-sdk; run with the Label Studio venv's python, not ours.

    python labelstudio_driver.py PLAN.json

PLAN: {"url", "token", "config", "tasks", "video_dir", "export", "report",
       "annotators": [email, ...],
       "labels": [{"item_id", "annotator": email, "answer", "reason_verdict"?, "reason"?, "ground_truth"?,
                   "skipped"?}, ...]}

Creates the annotators' users, a project with our config, a local-files storage for the videos, imports
our tasks, posts each label as that user's annotation (its result built from the project's own config by
the SDK's LabelInterface, and checked against it), exports the project as JSON to PLAN["export"] and
writes what it saw to PLAN["report"].
"""
from __future__ import annotations

import json
import sys

import requests
from label_studio_sdk import LabelStudio
from label_studio_sdk.label_interface import LabelInterface


def main(plan_path: str) -> None:
    plan = json.load(open(plan_path, encoding="utf-8"))
    ls = LabelStudio(base_url=plan["url"], api_key=plan["token"])
    me = ls.users.whoami()
    users = {me.email: me.id}
    for email in plan["annotators"]:
        if email not in users:
            users[email] = ls.users.create(username=email.split("@")[0], email=email, password="annotate-123").id

    project = ls.projects.create(title="fingereval round trip", label_config=open(plan["config"], encoding="utf-8").read())
    ls.import_storage.local.create(project=project.id, path=plan["video_dir"], title="videos", use_blob_urls=True)
    tasks = json.load(open(plan["tasks"], encoding="utf-8"))
    ls.projects.import_tasks(project.id, request=tasks)
    task_of = {t.data["item_id"]: t for t in ls.tasks.list(project=project.id)}

    # the results are built and checked by Label Studio's own reading of the config the server holds
    interface = LabelInterface(ls.projects.get(project.id).label_config)
    for label in plan["labels"]:
        answers = {"answer": label["answer"]}
        if label.get("reason_verdict"):
            answers["reason_verdict"] = label["reason_verdict"]
        if label.get("reason"):
            answers["reason"] = label["reason"]
        result = [json.loads(region.to_json()) for region in interface.create_regions(answers)]
        errors = [e for region in result for e in interface.validate_region(region, return_errors=True)]
        if errors:
            raise SystemExit(f"label {label} is not valid under the project's config: {errors}")
        ls.annotations.create(task_of[label["item_id"]].id, result=result, completed_by=users[label["annotator"]],
                              ground_truth=bool(label.get("ground_truth")), was_cancelled=bool(label.get("skipped")))

    export = b"".join(ls.projects.exports.download_sync(project.id, export_type="JSON", download_all_tasks=True))
    open(plan["export"], "wb").write(export)

    # the first task's video, fetched the way the labeling page fetches it
    first = task_of[tasks[0]["data"]["item_id"]]
    video = requests.get(plan["url"].rstrip("/") + first.data["video"], timeout=30,
                         headers={"Authorization": f"Token {plan['token']}"})
    report = {"project": project.id, "users": users, "tasks": len(task_of),
              "video_status": video.status_code, "video_bytes": len(video.content)}
    json.dump(report, open(plan["report"], "w", encoding="utf-8"))


if __name__ == "__main__":
    main(sys.argv[1])
