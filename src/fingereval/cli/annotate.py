"""`fingereval annotate serve|export`: people answer the questions and check the reasons in the browser.

The Label Studio interchange registers its commands on the same `annotate_app` (cli/labelstudio.py).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import typer

from fingereval.cli._common import RUBRIC_HELP, err, warn
from fingereval.errors import FingerEvalError

annotate_app = typer.Typer(no_args_is_help=True)


def fail(e: Exception, code: int = 2):
    """One line on stderr and exit 2; printed without rich markup, as the message may quote the data's text
    (an item id `[/b]` would otherwise end in rich's MarkupError traceback)."""
    err.print(f"error: {e}", highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(code)


@annotate_app.command("serve")
def serve(
    data: Optional[Path] = typer.Option(None, "--data", help="FingER-Instruct JSONL to annotate (with or without "
                                        "answers and reasons); without it the app goes on with the items the db holds"),
    db: Path = typer.Option(Path("annotations.sqlite"), "--db", help="SQLite file of items, labels and adjudications "
                            "(created if missing; a second run resumes it)"),
    host: str = typer.Option("127.0.0.1", help="address to listen on; any but loopback needs --users or --token"),
    port: int = typer.Option(8000, min=0, max=65535, help="port to listen on"),
    token: Optional[str] = typer.Option(None, envvar="FINGEREVAL_ANNOTATE_TOKEN",
                                        help="one shared token (one person, who names the annotator): every page and "
                                        "API route needs `Authorization: Bearer T` or the login form's cookie "
                                        "(better: FINGEREVAL_ANNOTATE_TOKEN)"),
    users: Optional[Path] = typer.Option(None, "--users", envvar="FINGEREVAL_ANNOTATE_USERS",
                                         help="YAML or JSON file of people (name, token, role annotator or "
                                         "adjudicator): each label is its sender's, only adjudicators adjudicate"),
    per_item: int = typer.Option(2, "--per-item", min=1, help="annotators who label each item"),
    max_body_mb: float = typer.Option(1.0, "--max-body-mb", min=0.001,
                                      help="largest request body (MB) on every route, checked before it is read"),
    login_failures: int = typer.Option(10, "--login-failures", min=1,
                                       help="wrong tokens one client address may send per minute; then 429"),
    session_hours: float = typer.Option(12.0, "--session-hours", min=0.01, help="a login lasts this long"),
    header_timeout: float = typer.Option(10.0, min=0.001, help="seconds for a request's headers to arrive; then 408"),
    body_timeout: float = typer.Option(30.0, min=0.001, help="seconds for a request's whole body to arrive; then 408"),
    max_connections: int = typer.Option(64, min=1, help="connections open at once; one more gets 503"),
    log_level: str = typer.Option("warning", help="log level (info: one line per request)"),
    log_format: str = typer.Option("text", help="log lines as text (client text escaped) or json (one object a line)"),
    rubric: Optional[str] = typer.Option(None, "--rubric", help=RUBRIC_HELP + ": the dimensions --data may use"),
):
    """Serve the annotation app: annotate at /, settle disagreements at /adjudicate, JSON API under /api/."""
    from fingereval.cli.serve import is_loopback

    if token and users:
        fail(ValueError("give --token (one person) or --users (a file of people), not both"))
    if not token and not users and not is_loopback(host):
        fail(ValueError(f"--host {host} is not a loopback address: give --users (or --token) so that only your "
                        "annotators can read the videos and labels"))
    if data is None and not db.exists():
        fail(ValueError(f"{db} does not exist yet: give --data qa.jsonl to load the items to annotate"))
    try:
        from fingereval.annotate.people import load_users
        from fingereval.annotate.settings import LOOPBACK_HOSTS, AnnotateSettings
        from fingereval.annotate.store import open_store
        from fingereval.rubric import load_rubric
        from fingereval.web import ConnectionLimits

        people = load_users(users) if users else None
        settings = AnnotateSettings(per_item=per_item, token=token or None, users=people, max_body_mb=max_body_mb,
                                    body_timeout_s=body_timeout, login_failures=login_failures,
                                    session_hours=session_hours,
                                    allowed_hosts=None if token or users else [*LOOPBACK_HOSTS, host])
        limits = ConnectionLimits(header_timeout=header_timeout, max_connections=max_connections)
        _check_log_options(log_level, log_format)
        store, skipped = open_store(db, data, load_rubric(rubric) if rubric else None)
    except (FingerEvalError, ValueError) as e:
        fail(e)
    if users and users.stat().st_mode & 0o077:
        warn(f"users file {users} can be read by other users of this machine; `chmod 600 {users}`")
    for item in skipped:
        warn(f"item {item.item_id}: {item.note}")
    err.print(f"{len(store.items())} items in {db} ({len(store.skipped())} skipped: their videos do not play); "
              f"annotate at http://{host}:{port}/ "
              f"(adjudicate at /adjudicate, API docs at /docs)", highlight=False, markup=False, soft_wrap=True)
    _run(store, settings, host, port, limits, log_level, log_format)


def _check_log_options(log_level: str, log_format: str) -> None:
    if log_level.upper() not in logging.getLevelNamesMapping():
        raise ValueError(f"--log-level {log_level!r}: give debug, info, warning or error")
    if log_format not in ("text", "json"):
        raise ValueError(f"--log-format {log_format!r}: give text or json")


def _run(store, settings, host: str, port: int, limits, log_level: str, log_format: str) -> None:
    """uvicorn with the connection rules the service has (fingereval.web.server_config): a deadline for the
    headers, a cap on connections, a lingering close after an early answer."""
    from fingereval.annotate.app import create_app
    from fingereval.web import configure_logging, run_server, server_config

    configure_logging(log_level, log_format)  # uvicorn's loggers too: its config is left out (log_config None)
    if not run_server(server_config(create_app(store, settings), host, port, limits,
                                    log_level=log_level.lower(), access_log=False)):
        raise typer.Exit(3)  # uvicorn's startup failure (the port taken, ...), already logged


@annotate_app.command("export")
def export(
    db: Path = typer.Option(..., "--db", help="the app's SQLite file"),
    out: Path = typer.Option(..., "--out", "-o", help="FingER-Instruct JSONL to write (videos relative to it)"),
):
    """Write the agreed and adjudicated items as FingER-Instruct JSONL: the agreed answer, and the accepted or
    edited reason (none when rejected). `data check` accepts it and `train sft` trains on it."""
    from fingereval.annotate.store import AnnotationStore
    from fingereval.data.instruct import write_instruct

    if not db.is_file():
        fail(ValueError(f"{db} not found; give the --db that `annotate serve` wrote"))
    try:
        store = AnnotationStore(db)
        records = store.export_records()
        write_instruct(out, records)
    except FingerEvalError as e:
        fail(e)
    open_items = len(store.disagreements())
    err.print(f"wrote {len(records)} agreed items -> {out} ({open_items} disagreements wait at /adjudicate)",
              highlight=False, markup=False, soft_wrap=True)
