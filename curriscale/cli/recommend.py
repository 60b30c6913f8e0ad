"""`curriscale recommend`."""

import typer


def register(app: typer.Typer) -> None:
    """Add the `recommend` command(s) to the root app."""
