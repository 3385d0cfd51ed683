"""``musedc demo`` (being written)."""

import click


@click.command()
def demo() -> None:
    """Run the demo night."""
    raise click.ClickException("the demo is not written yet")
