"""`curriscale recipes`."""

import typer


def register(app: typer.Typer) -> None:
    """Add the `recipes` command(s) to the root app."""
