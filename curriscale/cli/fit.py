"""`curriscale fit`."""

import typer


def register(app: typer.Typer) -> None:
    """Add the `fit` command(s) to the root app."""
