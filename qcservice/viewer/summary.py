"""HOME: the nightly summary, newest night first, filtered by project, mode and dates."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, render_template, request, url_for
from markupsafe import Markup, escape
from sqlalchemy import text

from qcservice.dates import query_date
from qcservice.viewer.access import COUNTED_VISIBLE, scope
from qcservice.viewer.categories import CATEGORIES, GROUPS
from qcservice.viewer.db import get_conn

bp = Blueprint("summary", __name__)

ESO_CLIMATE = "https://archive.eso.org/asm/ambient-server?night={night}&site=paranal"

# Visibility is decided by qc.may_see on one sample file per visibility class (project,
# owner group, privilege, released or not: all the rule reads of a file); the counts keep
# the classes apart, so the sums are those of the files qc.may_see allows. Every mode:
# the totals over the modes (sql/038_viewer.sql); one mode: the counts of that mode.
_COUNTS = f"""
WITH {COUNTED_VISIBLE}
SELECT c.night, c.cat, sum(c.n)::int AS n, sum(c.n_valid)::int AS n_valid,
       sum(c.n_invalid)::int AS n_invalid, sum(c.exptime) AS exptime,
       sum(c.dimm_sum) AS dimm_sum, sum(c.dimm_n)::int AS dimm_n
FROM qc.{{table}} c
JOIN visible ok ON ok.og = c.owner_group_id AND ok.priv = c.privilege
       AND ok.released = (c.release_date <= current_date)
WHERE c.project_id = :project_id {{mode}}
  AND (CAST(:start AS date) IS NULL OR c.night >= :start)
  AND (CAST(:end AS date) IS NULL OR c.night <= :end)
GROUP BY c.night, c.cat"""
_SUMMARY = _COUNTS.format(table="viewer_night_totals", mode="")
_SUMMARY_MODE = _COUNTS.format(table="viewer_night_counts", mode="AND c.ins_mode = :mode")


# The page's query: one row per night, newest first, its categories' counts as arrays
# (a thousand rows, not eleven thousand; the night as ISO text: the driver's date parsing
# costs more than the sums).
_NIGHTS = """
SELECT night::text, sum(exptime) AS exptime,
       sum(dimm_sum) / nullif(sum(dimm_n), 0) AS dimm, array_agg(cat) AS cats,
       array_agg(n) AS n, array_agg(n_valid) AS n_valid, array_agg(n_invalid) AS n_invalid
FROM ({summary}) s
GROUP BY night ORDER BY night DESC"""


def refresh_counts(kept: str = "counts") -> None:
    """Recount the nights whose files or QC changed since the last summary (``kept``
    "cells": and then the heat map's cells, sql/038_viewer.sql). Derived data: a crash may lose
    this commit, never make it half, so no wait for the disk (under load the flush cost
    more than the recount)."""
    if kept not in ("counts", "cells"):
        raise ValueError(f"nothing kept as {kept!r}")
    conn = get_conn()
    conn.execute(text("SET LOCAL synchronous_commit = off"))
    conn.execute(text(f"SELECT qc.viewer_refresh_{kept}()"))
    conn.commit()


def nightly_summary(start: dt.date | None, end: dt.date | None) -> list:
    """One row per night, newest first: (ISO night, science exposure time in s, DIMM
    seeing in arcsec or None, per summary column a (category key, count, valid, invalid)
    tuple)."""
    refresh_counts()
    conn = get_conn()
    conn.execute(text("SET LOCAL work_mem = '64MB'"))   # sort and hash in memory
    column = {c.key: k for k, c in enumerate(CATEGORIES)}
    empty = [(c.key, 0, 0, 0) for c in CATEGORIES]
    out = []
    where = scope()
    sql = _NIGHTS.format(summary=_SUMMARY_MODE if where["mode"] else _SUMMARY)
    for night, exptime, dimm, cats, n, n_valid, n_invalid in conn.execute(
            text(sql), {"start": start, "end": end, **where}):
        cells = empty.copy()
        for cell in zip(cats, n, n_valid, n_invalid, strict=True):
            cells[column[cell[0]]] = cell
        out.append((night, exptime or 0.0, dimm, cells))
    return out


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


def summary_rows(nights: list, prefix: str) -> Markup:
    """The table's rows in one pass: a thousand nights make 18,000 cells, and a template
    loop with a filter per cell costs as much as the query. Every part is a number, an
    ISO date (checked) or a fixed key, so only the climate link's "&" needs escaping."""
    rows = []
    for night, exptime, dimm, cells in nights:
        day = dt.date.fromisoformat(night).isoformat()
        seeing = "–" if dimm is None else f"{dimm:.2f}″"
        rows.append(f'<tr><td>{day}</td><td><a href="{escape(ESO_CLIMATE.format(night=day))}" '
                    f'rel="noopener">ESO Climate</a></td><td>{seeing}</td>'
                    f"<td>{exptime:.0f} s</td>"
                    + "".join(f"<td>{summary_cell(c, day, prefix)}</td>" for c in cells)
                    + "</tr>\n")
    return Markup("".join(rows))


@bp.route("/")
def home() -> str:
    """The nightly summary table."""
    start = query_date(request.args.get("start"))
    end = query_date(request.args.get("end"))
    prefix = url_for("files.night_list", night="N", cat="C")[:-3]
    return render_template("summary.html",
                           rows=summary_rows(nightly_summary(start, end), prefix),
                           categories=CATEGORIES, groups=GROUPS, start=start, end=end)
