"""HOME: the nightly summary, newest night first, filtered by project, mode and dates."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, render_template, request
from markupsafe import Markup
from sqlalchemy import text

from qcservice.dates import query_date
from qcservice.viewer.access import COUNTED_VISIBLE, scope
from qcservice.viewer.categories import CATEGORIES, GROUPS
from qcservice.viewer.db import get_conn

bp = Blueprint("summary", __name__)

ESO_CLIMATE = "https://archive.eso.org/asm/ambient-server?night={night}&site=paranal"

# Visibility is decided by qc.may_see on one sample file per visibility class (project,
# owner group, privilege, released or not: all the rule reads of a file); the counts keep
# the classes apart, so the sums are those of the files qc.may_see allows.
_SUMMARY = f"""
WITH {COUNTED_VISIBLE}
SELECT c.night, c.cat, sum(c.n)::int AS n, sum(c.n_valid)::int AS n_valid,
       sum(c.n_invalid)::int AS n_invalid, sum(c.exptime) AS exptime,
       sum(c.dimm_sum) / nullif(sum(c.dimm_n), 0) AS dimm
FROM qc.viewer_night_counts c
JOIN visible ok ON ok.og = c.owner_group_id AND ok.priv = c.privilege
       AND ok.released = (c.release_date <= current_date)
WHERE c.project_id = :project_id
  AND (CAST(:mode AS text) IS NULL OR c.ins_mode = :mode)
  AND (CAST(:start AS date) IS NULL OR c.night >= :start)
  AND (CAST(:end AS date) IS NULL OR c.night <= :end)
GROUP BY c.night, c.cat"""


def refresh_counts() -> None:
    """Recount the nights whose files or QC changed since the last summary."""
    conn = get_conn()
    conn.execute(text("SELECT qc.viewer_refresh_counts()"))
    conn.commit()


def nightly_summary(start: dt.date | None, end: dt.date | None) -> list[dict]:
    """One dict per night, newest first: night, DIMM, exposure time, and ``cells``, a
    (category key, count, valid, invalid) tuple per summary column."""
    refresh_counts()
    conn = get_conn()
    conn.execute(text("SET LOCAL work_mem = '64MB'"))   # sort and hash in memory
    column = {c.key: k for k, c in enumerate(CATEGORIES)}
    nights: dict[dt.date, dict] = {}
    result = conn.execute(text(_SUMMARY), {"start": start, "end": end, **scope()})
    for night, cat, n, n_valid, n_invalid, exptime, dimm in result:
        entry = nights.get(night)
        if entry is None:
            entry = nights[night] = {"night": night.isoformat(), "exptime": 0.0, "dimm": None,
                                     "cells": [(c.key, 0, 0, 0) for c in CATEGORIES]}
        entry["cells"][column[cat]] = (cat, n, n_valid, n_invalid)
        if exptime is not None:
            entry["exptime"] += exptime
        if dimm is not None:
            entry["dimm"] = dimm
    return [nights[k] for k in sorted(nights, reverse=True)]


def summary_cell(cell: tuple[str, int, int, int], night: str, prefix: str) -> str:
    """One count of the summary: total (a link to its list), valid in green, invalid in
    red. Every part is an int, an ISO date or a fixed key, so nothing needs escaping."""
    key, n, valid, invalid = (cell[0], int(cell[1]), int(cell[2]), int(cell[3]))
    if not n:
        return "<i>0</i>"
    html = f'<a href="{prefix}{night}/{key}">{n}</a>'
    if valid:   # the state in a symbol as well as in colour
        html += f' <b class="valid">✓{valid}</b>'
    if invalid:
        html += f' <b class="invalid">✗{invalid}</b>'
    return html


@bp.app_template_filter("summary_cells")
def summary_cells(cells: list[tuple[str, int, int, int]], night: str, prefix: str) -> Markup:
    """The count cells of one night's row, in one call: a thousand nights make 11,000
    cells, and a template loop with a filter per cell costs as much as the query."""
    day = dt.date.fromisoformat(night).isoformat()   # a date, so nothing to escape
    return Markup("".join(f"<td>{summary_cell(c, day, prefix)}</td>" for c in cells))


@bp.route("/")
def home() -> str:
    """The nightly summary table."""
    start = query_date(request.args.get("start"))
    end = query_date(request.args.get("end"))
    return render_template("summary.html", nights=nightly_summary(start, end),
                           categories=CATEGORIES, groups=GROUPS, start=start, end=end,
                           climate=ESO_CLIMATE)
