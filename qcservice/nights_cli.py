"""``musedc nights``: the catalogued nights (the domain is qcservice.nights)."""

from __future__ import annotations

import click

from qcservice.db import make_engine
from qcservice.nights import format_counts, night_counts


@click.command()
@click.option("--mode", default=None, help="Only this INS MODE, e.g. WFM-NOAO-N.")
@click.pass_obj
def nights(obj, mode: str | None) -> None:
    """List the catalogued nights, newest first, with frame and product counts."""
    click.echo(format_counts(night_counts(make_engine(obj.settings), mode)))
