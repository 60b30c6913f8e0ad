"""`curriscale build`."""

import typer


def register(app: typer.Typer) -> None:
    """Add the `build` command(s) to the root app."""
