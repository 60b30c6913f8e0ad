"""`curriscale export`."""

import typer


def register(app: typer.Typer) -> None:
    """Add the `export` command(s) to the root app."""
