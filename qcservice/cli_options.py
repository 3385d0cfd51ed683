"""What the subcommands' ``cli.py`` modules share: click callbacks over the domain's
parsers, so that domain modules (``qcservice.dates``) need no click."""

from __future__ import annotations

import datetime as dt

import click

from qcservice.dates import parse_date


def date_option(_ctx: click.Context | None, _param: click.Parameter | None,
                value: str | None) -> dt.date | None:
    """click callback of a date option (``--night``, ``--since``, ``--release`` ...)."""
    try:
        return parse_date(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
