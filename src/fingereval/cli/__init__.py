"""fingereval command line: questions | score | answerers | tiny-model | demo | probes | data | train | bench | fit-weights.

One module per command group (score, tiny, probes, data, train, bench) and _common for what they share;
no library module imports this package.
"""
from __future__ import annotations

import sys

import typer

from fingereval.cli._common import guard_extras

app = typer.Typer(help="Fine-grained, explainable evaluation of generated videos (FingER).", no_args_is_help=True,
                  pretty_exceptions_enable=False)


def _version(show: bool) -> None:
    if show:
        from fingereval import __version__  # the one source of the version (pyproject.toml reads it too)

        typer.echo(f"fingereval {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="print the version and exit")) -> None:
    """Fine-grained, explainable evaluation of generated videos (FingER)."""


def _mount() -> None:
    """Every command, one module per group."""
    from fingereval.cli import score, tiny
    from fingereval.cli.bench import bench_app, fit_weights
    from fingereval.cli.probes import probes_app
    from fingereval.cli.train import train_app
    from fingereval.cli.data import data_app
    from fingereval.cli.calibrate import calibrate
    import fingereval.cli.stability  # noqa: F401  (registers bench stability and bench severity on bench_app)
    from fingereval.cli.doctor import doctor
    from fingereval.cli.export import export
    from fingereval.cli.serve import serve
    from fingereval.cli.annotate import annotate_app
    from fingereval.cli.report import report

    app.command()(score.questions)
    app.command()(score.score)
    app.command()(score.answerers)
    app.command("tiny-model")(tiny.tiny_model)
    app.command()(tiny.demo)
    app.add_typer(probes_app, name="probes", help="Synthetic probe videos with planted, recorded defects.")
    app.add_typer(data_app, name="data", help="FingER-Instruct question/answer/reason data tools.")
    app.add_typer(train_app, name="train", help="Train your own evaluator: SFT with reasons, then GRPO.")
    app.add_typer(bench_app, name="bench", help="Benchmarks and the field's metrics.")
    import fingereval.cli.labelstudio  # noqa: F401  (registers its commands on annotate_app)
    app.add_typer(annotate_app, name="annotate", help="People answer the questions and check the reasons in the browser.")
    app.command("fit-weights", help="Fit dimension weights to human ratings or preferences.")(fit_weights)
    app.command()(export)
    app.command()(doctor)
    app.command()(serve)
    app.command()(calibrate)
    app.command()(report)


_mount()
guard_extras(app)  # every command: its missing pip extra is one line with the install command (cli/_common.py)


def main() -> None:  # pragma: no cover
    sys.exit(app())
