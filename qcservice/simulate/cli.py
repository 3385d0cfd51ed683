"""``musedc simulate`` (being written)."""

import click


@click.command()
def simulate() -> None:
    """Write simulated MUSE nights (not yet available)."""
    raise click.ClickException("the simulator is not written yet")
