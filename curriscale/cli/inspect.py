"""`curriscale inspect`."""

import typer


def register(app: typer.Typer) -> None:
    """Add the `inspect` command(s) to the root app."""
