"""At a glance (DESI Nightwatch style): nights x the 24 IFUs for one category's key metric.

Each cell is one night and one IFU: the median of the metric over that night's files of
the category (and their sub-units), coloured by the worst IFU status among them (invalid,
flagged, fine, not assessed), the value and the state in text, linked to the worst file.
The cells are kept per night and visibility class (sql/038_viewer.sql, brought up to
date by this page and at the end of a run), so a thousand nights are read, not
recomputed from their 24,000 files.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, render_template, request, url_for
from markupsafe import Markup, escape
from sqlalchemy import text

from qcservice.dates import query_date
from qcservice.viewer.access import COUNTED_VISIBLE, scope
from qcservice.viewer.categories import BY_KEY, KEY_METRICS
from qcservice.viewer.db import get_conn, row
from qcservice.viewer.summary import refresh_counts
from qcservice.vocabulary import N_IFU

bp = Blueprint("heatmap", __name__)

DEFAULT_NIGHTS = 60   # nights with data shown when no range is asked for

# the cells kept per night and visibility class (sql/038_viewer.sql): the reader's classes are
# decided once each (the counts' classes), then 24,000 narrow rows are read and merged
_CLASS = ("file_id, night, ifu, owner_group_id AS og, privilege AS priv, "
          "release_date <= current_date AS released")
_WHERE = ("ftype = :type AND night BETWEEN :start AND :end AND project_id = :project_id "
          "AND (CAST(:mode AS text) IS NULL OR ins_mode = :mode)")
_CELLS = f"""
WITH st AS (
    SELECT {_CLASS}, worst, flags FROM qc.viewer_ifu_states WHERE {_WHERE}
), va AS (
    SELECT {_CLASS}, vals FROM qc.viewer_ifu_values WHERE metric = :metric AND {_WHERE}
), {COUNTED_VISIBLE}, vals AS (
    SELECT va.night, va.ifu, min(va.file_id) AS file_id,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY v) AS value
    FROM va JOIN visible USING (og, priv, released), unnest(va.vals) v
    GROUP BY va.night, va.ifu
), states AS (
    SELECT DISTINCT ON (night, ifu) night, ifu, file_id, flags, worst
    FROM st JOIN visible USING (og, priv, released)
    ORDER BY night, ifu, worst DESC, file_id
)
SELECT coalesce(v.night, x.night)::text AS night, coalesce(v.ifu, x.ifu) AS ifu, v.value,
       x.worst, coalesce(x.file_id, v.file_id) AS file_id, array_to_string(x.flags, ' ')
FROM vals v FULL JOIN states x ON x.night = v.night AND x.ifu = v.ifu"""
# (the night as ISO text and the flags as words: the driver's date and array parsing
# cost more than the query's own sorting for 24,000 cells)

# class, icon (the state in text as well as colour), words
STATES = {None: ("unknown", "?", "not assessed"), 0: ("ok", "✓", "fine"),
          1: ("flagged", "⚑", "flagged"), 2: ("bad", "✗", "invalid")}


EMPTY = '<td class="none">–</td>'


def heat_rows(cells) -> list[tuple[str, Markup]]:
    """(night, the row's 24 cells as HTML), newest night first, from (ISO night, ifu,
    value, worst, file_id, flags as words) rows; built in one pass, 1,000 nights make
    24,000 cells (so the parts each state shares are made once)."""
    file_url = url_for("files.detail", file_id=0)[:-1]
    parts = {worst: (f'<td class="cell {cls}"><a href="{file_url}', f": {words}",
                     f'"><span aria-hidden="true">{icon}</span> ')
             for worst, (cls, icon, words) in STATES.items()}
    by_night: dict[str, list] = {}
    for night, ifu, value, worst, file_id, flags in cells:
        link, words, icon = parts[worst]
        why = f" ({escape(flags)})" if flags else ""
        shown = "–" if value is None else f"{value:.3g}"
        row = by_night.get(night) or by_night.setdefault(night, [EMPTY] * N_IFU)
        row[ifu - 1] = f'{link}{file_id}" title="IFU {ifu}{words}{why}{icon}{shown}</a></td>'
    return [(night, Markup("".join(by_night[night])))
            for night in sorted(by_night, reverse=True)]


def _nth_night_before(end: dt.date, where: dict) -> dt.date:
    """The first of the last DEFAULT_NIGHTS nights with data up to ``end`` (the nightly
    summary's counts know them: no scan of the catalogue)."""
    found = row("SELECT min(night) AS n FROM (SELECT DISTINCT night FROM "
                "qc.viewer_night_counts WHERE project_id = :project_id AND night <= :end "
                "ORDER BY night DESC LIMIT :k) x", end=end, k=DEFAULT_NIGHTS, **where)
    return (found or {}).get("n") or end


@bp.route("/heatmap")
def heatmap() -> str:
    """Nights x IFU of one category (``cat``), its key metric unless ``metric`` is given."""
    cat = request.args.get("cat", "bias_raw")
    if cat not in KEY_METRICS:
        abort(404)
    ftype, metric = KEY_METRICS[cat]
    metric = request.args.get("metric") or metric
    where = scope()
    refresh_counts("cells")   # the summary's, then the cells of the nights changed
    end = query_date(request.args.get("end")) or dt.date.today()
    start = query_date(request.args.get("start")) or _nth_night_before(end, where)
    conn = get_conn()
    conn.execute(text("SET LOCAL work_mem = '64MB'"))   # 24,000 cells sorted in memory
    cells = conn.execute(text(_CELLS), {"type": ftype, "metric": metric, "start": start,
                                        "end": end, **where}).all()
    return render_template("heatmap.html", cat=cat, category=BY_KEY[cat], metric=metric,
                           rows=heat_rows(cells), start=start, end=end,
                           categories=KEY_METRICS, states=STATES)
