"""`curriscale grid`."""

import typer


def register(app: typer.Typer) -> None:
    """Add the `grid` command(s) to the root app."""
