"""`curriscale verify`."""

import typer


def register(app: typer.Typer) -> None:
    """Add the `verify` command(s) to the root app."""
