"""The `curriscale` command: one Typer app, one module per command group.

Each module in `COMMAND_MODULES` exposes `register(app)`, which adds its commands. The CLI stays
thin: it parses options, calls a public library function and prints. User mistakes surface as
`CurriscaleError` and become a one-line message with exit code 2 instead of a traceback.
"""

from __future__ import annotations

import importlib
import sys

import typer

from curriscale import __version__
from curriscale.cli import console
from curriscale.cli.interrupt import EXIT_CODE, Interrupted
from curriscale.errors import CurriscaleError

COMMAND_MODULES = [
    "generate",
    "scorers",
    "score",
    "recipes",
    "build",
    "inspect",
    "verify",
    "export",
    "train",
    "grid",
    "fit",
    "recommend",
    "report",
    "demo",
]

app = typer.Typer(
    name="curriscale",
    help="Build curricula for language-model training and measure what they do to scaling.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # click's plain help: typer's rich panels print a type after every flag (`--quick <bool>`).
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"curriscale {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only errors and final results."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True),
) -> None:
    console.set_quiet(quiet)


for _name in COMMAND_MODULES:
    importlib.import_module(f"curriscale.cli.{_name}").register(app)


def main() -> None:
    """Entry point: run the app, turning user errors into exit code 2 and Ctrl-C into 130."""
    try:
        code = app(standalone_mode=False)
    except CurriscaleError as error:
        console.error(str(error))
        sys.exit(2)
    except Interrupted as interruption:
        console.interrupted(str(interruption))
        sys.exit(EXIT_CODE)
    except typer.Abort:
        console.error("aborted")
        sys.exit(EXIT_CODE)
    except SystemExit:
        raise
    except Exception as error:  # usage errors (bad option, missing argument) arrive here
        if _is_usage_error(error):
            error.show()
            sys.exit(2)
        raise
    # typer returns, rather than raises, the code of an `Exit`; it makes one of a Ctrl-C that no
    # `resumable` block caught (a short command), which must not exit 0 either.
    if isinstance(code, int) and code:
        if code == EXIT_CODE:
            console.interrupted("stopped by Ctrl-C")
        sys.exit(code)


def _is_usage_error(error: Exception) -> bool:
    """A command-line usage error: click's, or the copy of click that newer typer vendors."""
    import click

    return isinstance(error, (click.exceptions.ClickException, typer.TyperException)) and hasattr(
        error, "show"
    )
