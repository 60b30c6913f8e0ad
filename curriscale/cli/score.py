"""`curriscale score`."""

import typer


def register(app: typer.Typer) -> None:
    """Add the `score` command(s) to the root app."""
