"""``musedc storage``: the storage accounting report (the domain is qcservice.storage)."""

from __future__ import annotations

import datetime as dt
import json

import click

from qcservice.cli_options import date_option
from qcservice.db import make_engine
from qcservice.storage import DIMENSIONS, format_report, storage_report


@click.command("storage")
@click.option("--project", default=None, help="Only this project (default: every project).")
@click.option("--by", "by", default=",".join(DIMENSIONS), show_default=True,
              help="Breakdowns to print, comma-separated: category, night, programme, year.")
@click.option("--start", callback=date_option, default=None,
              help="Start of the 3-year plan (YYYY-MM-DD; default: first night catalogued).")
@click.option("--as-of", "as_of", callback=date_option, default=None,
              help="Date the growth is measured at (default: today).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def storage(obj, project: str | None, by: str, start: dt.date | None, as_of: dt.date | None,
            as_json: bool) -> None:
    """Storage accounting: volume per category, night, programme and year, and its growth
    against the plan (16 TB of final products, 100 TB of working space over 3 years)."""
    dims = tuple(d.strip() for d in by.split(",") if d.strip())
    unknown = [d for d in dims if d not in DIMENSIONS]
    if unknown:
        raise click.BadParameter(f"unknown breakdown {', '.join(unknown)}; "
                                 f"choose from {', '.join(DIMENSIONS)}", param_hint="--by")
    with make_engine(obj.settings).connect() as conn:
        report = storage_report(conn, project, start, as_of)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=1))
    else:
        click.echo(format_report(report, dims))
