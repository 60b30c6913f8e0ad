"""`curriscale report`."""

import typer


def register(app: typer.Typer) -> None:
    """Add the `report` command(s) to the root app."""
