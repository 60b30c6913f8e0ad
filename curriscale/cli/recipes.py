"""`curriscale recipes list|show`: the curriculum recipes shipped with the package."""

import typer

from curriscale.cli import console

recipes_app = typer.Typer(help="List and show the preset curriculum recipes.", no_args_is_help=True)


@recipes_app.command("list")
def list_command() -> None:
    """List preset names with their one-line descriptions.

    Example: curriscale recipes list
    """
    from rich.table import Table

    from curriscale.curricula.recipe import list_presets

    table = Table("preset", "description")
    for name, description in list_presets().items():
        table.add_row(name, description)
    console.out.print(table)


@recipes_app.command("show")
def show_command(name: str = typer.Argument(..., help="Preset name or recipe file.")) -> None:
    """Print a recipe as parsed (defaults filled in) in YAML, ready to copy and edit.

    Example: curriscale recipes show reading-age-ladder > my-recipe.yaml
    """
    import yaml

    from curriscale.curricula.recipe import load_recipe

    typer.echo(yaml.safe_dump(load_recipe(name).to_dict(), sort_keys=False), nl=False)


def register(app: typer.Typer) -> None:
    """Add the `recipes` command group to the root app."""
    app.add_typer(recipes_app, name="recipes")
