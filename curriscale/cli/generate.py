"""`curriscale generate`."""

import typer


def register(app: typer.Typer) -> None:
    """Add the `generate` command(s) to the root app."""
