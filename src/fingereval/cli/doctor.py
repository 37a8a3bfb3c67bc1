"""`fingereval doctor`: what this machine has for fingereval, each line OK or what to do."""
from __future__ import annotations

import typer
from rich.markup import escape

from fingereval.cli._common import out, print_json

MARK = {"ok": "[green]OK[/green]  ", "warn": "[yellow]WARN[/yellow]", "fail": "[red]FAIL[/red]"}


def doctor(as_json: bool = typer.Option(False, "--json", help="print the checks as one JSON object")):
    """Check Python, the installed extras, torch and CUDA, video decoders, the hub cache, the default model,
    chromium, an LLM endpoint.

    Exits 1 when a check fails (a warning is a limit, not a failure)."""
    from fingereval.doctor import run_checks

    checks = run_checks()
    if as_json:
        print_json({"checks": [c.as_dict() for c in checks], "ok": all(c.status != "fail" for c in checks)})
    else:
        for c in checks:
            out.print(f"{MARK[c.status]} {escape(f'{c.name:16s} {c.detail}')}", highlight=False, soft_wrap=True)
    raise typer.Exit(1 if any(c.status == "fail" for c in checks) else 0)
