"""What the subcommands' ``cli.py`` modules share: click options and callbacks over the
domain's parsers, so that domain modules (``qcservice.dates``) need no click."""

from __future__ import annotations

import datetime as dt
import sys

import click

from qcservice.dates import parse_date


def date_option(_ctx: click.Context | None, _param: click.Parameter | None,
                value: str | None) -> dt.date | None:
    """click callback of a date option (``--night``, ``--since``, ``--release`` ...)."""
    try:
        return parse_date(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _progress(_ctx: click.Context, _param: click.Parameter, value: bool | None) -> bool:
    return sys.stderr.isatty() if value is None else value


# ``--progress/--no-progress``, resolved to a bool: a bar when stderr is a terminal
progress_option = click.option(
    "--progress/--no-progress", default=None, callback=_progress,
    help="Show a progress bar (default: when stderr is a terminal).")
