"""`curriscale scorers`."""

import typer


def register(app: typer.Typer) -> None:
    """Add the `scorers` command(s) to the root app."""
