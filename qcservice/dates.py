"""Dates given as text (nights, release dates: YYYY-MM-DD), parsed in one way for the
command line (a clear error: ``qcservice.cli_options.date_option``) and for the viewer's
query arguments (ignored when bad)."""

from __future__ import annotations

import datetime as dt


def parse_date(value: str | None) -> dt.date | None:
    """A YYYY-MM-DD date; None when not given; ValueError naming the value when malformed."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def query_date(value: str | None) -> dt.date | None:
    """A YYYY-MM-DD query argument or path part, None when empty or malformed."""
    try:
        return parse_date(value or None)
    except ValueError:
        return None

