"""Trends (ESO Health Check style): any metric over nights, with its dated limits.

A metric (computed, harvested QC1 or a cube metric) over a date range, split into series
per IFU (the 24 IFUs apart, so one bad IFU shows), per sub-unit (quadrant, slice,
wavelength) or per mode; every point knows its file and whether it crosses a limit (QC's
own rule, ``qcservice.qc.thresholds``); the limits come with their validity periods;
DIMM seeing can be drawn beside PSF FWHM. ``/api/trend`` gives the same points as JSON or
CSV (``format=csv``). ``/ifu/N`` is one IFU's history across categories.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import io

from flask import Blueprint, Response, abort, jsonify, render_template, request
from sqlalchemy import text

from qcservice.dates import query_date
from qcservice.qc.thresholds import LIMITS, Threshold, ThresholdSet
from qcservice.viewer.access import CLASS_COLUMNS, VISIBLE, scope
from qcservice.viewer.args import ifu_arg
from qcservice.viewer.categories import KEY_METRICS
from qcservice.viewer.db import get_conn, rows
from qcservice.vocabulary import N_IFU

bp = Blueprint("trends", __name__)

SPLITS = ("ifu", "subunit", "mode")

_POINTS = f"""
WITH pts AS MATERIALIZED (
    SELECT m.file_id, m.ifu, m.subunit, m.value, m.unit,
           coalesce(r.night, p.night) AS night, coalesce(r.ins_mode, p.ins_mode) AS ins_mode,
           {CLASS_COLUMNS}
    FROM qc.metrics m JOIN qc.files f USING (file_id)
    LEFT JOIN qc.raw_frames r USING (file_id) LEFT JOIN qc.products p USING (file_id)
    WHERE m.name = :metric AND m.value IS NOT NULL AND f.project_id = :project_id
      AND (CAST(:ifu AS integer) IS NULL OR m.ifu = :ifu)
      AND (CAST(:subunit AS text) IS NULL OR m.subunit = :subunit)
      AND (CAST(:type AS text) IS NULL OR coalesce(r.dpr_type, p.pro_catg) = :type)
      AND (CAST(:mode AS text) IS NULL OR coalesce(r.ins_mode, p.ins_mode) = :mode)
      AND (CAST(:start AS date) IS NULL OR coalesce(r.night, p.night) >= :start)
      AND (CAST(:end AS date) IS NULL OR coalesce(r.night, p.night) <= :end)
), {VISIBLE.format(cte="pts")}
SELECT pts.night::text, pts.file_id, pts.ifu, pts.subunit, pts.value, pts.unit, pts.ins_mode
FROM pts JOIN visible USING (og, priv, released)
ORDER BY night, file_id, ifu NULLS FIRST, subunit"""

_DIMM = """
SELECT r.night, avg(r.dimm_fwhm) AS dimm FROM qc.raw_frames r JOIN qc.files f USING (file_id)
WHERE r.dpr_catg = 'SCIENCE' AND r.dimm_fwhm IS NOT NULL AND f.project_id = :project_id
  AND (CAST(:mode AS text) IS NULL OR r.ins_mode = :mode)
  AND (CAST(:start AS date) IS NULL OR r.night >= :start)
  AND (CAST(:end AS date) IS NULL OR r.night <= :end)
GROUP BY r.night ORDER BY r.night"""

_LIMITS = """
SELECT metric, flag, valid_from, ins_mode, ifu, subunit, nominal, warn_low, warn_high,
       error_low, error_high, unit, comment, source
FROM qc.thresholds WHERE metric = :metric ORDER BY valid_from"""

# metrics to choose from: a loose index scan of qc.metrics (name, ifu), so the list of a
# billion-row table is one index probe per name, not a scan
_NAMES = """
WITH RECURSIVE n AS (
    (SELECT name FROM qc.metrics ORDER BY name LIMIT 1)
    UNION ALL
    SELECT (SELECT m.name FROM qc.metrics m WHERE m.name > n.name ORDER BY m.name LIMIT 1)
    FROM n WHERE n.name IS NOT NULL
) SELECT name FROM n WHERE name IS NOT NULL"""


class Levels:
    """QC's verdict for many points of one metric: the applicable rows are looked up once
    per (validity period, mode, IFU, sub-unit), not once per point."""

    def __init__(self, limits: list[Threshold]) -> None:
        self.set = ThresholdSet(limits)
        self.starts = sorted({t.valid_from for t in limits})
        self.iso = [d.isoformat() for d in self.starts]   # for nights as ISO text
        self.cache: dict[tuple, list[Threshold]] = {}

    def level(self, metric: str, night: dt.date | str, mode: str | None, ifu: int | None,
              subunit: str | None, value: float) -> str | None:
        period = bisect.bisect_right(self.iso if isinstance(night, str) else self.starts,
                                     night)
        key = (period, mode, ifu, subunit)
        rows_ = self.cache.get(key)
        if rows_ is None:
            day = self.starts[period - 1] if period else dt.date.min
            rows_ = self.cache[key] = self.set.applicable(metric, day, mode, ifu, subunit)
        levels = {t.verdict(value) for t in rows_}
        return "error" if "error" in levels else ("warning" if "warning" in levels else None)


def limit_periods(limits: list[Threshold], mode: str | None, ifu: int | None) -> list[dict]:
    """The limits to draw, each with its validity period (valid_from to the next row of
    the same metric, flag, mode, IFU and sub-unit; None: still valid)."""
    out = []
    for t in limits:
        if (mode and t.ins_mode not in (None, mode)) or (t.ifu is not None and t.ifu != ifu):
            continue
        later = [u.valid_from for u in limits if u.valid_from > t.valid_from
                 and (u.flag, u.ins_mode, u.ifu, u.subunit) == (t.flag, t.ins_mode, t.ifu,
                                                                t.subunit)]
        out.append({"flag": t.flag, "ins_mode": t.ins_mode, "ifu": t.ifu,
                    "subunit": t.subunit, "unit": t.unit, "source": t.source,
                    "valid_from": t.valid_from.isoformat(),
                    "valid_to": min(later).isoformat() if later else None,
                    **{k: getattr(t, k) for k in LIMITS}})
    return out


def trend_data(args) -> dict:
    """Points of one metric in series, their levels, the limits, optionally DIMM."""
    metric = args.get("metric", "")
    ifu = ifu_arg(args)
    split = args.get("split") or ("subunit" if ifu else "ifu")
    if split not in SPLITS:
        abort(400, f"split must be one of {SPLITS}")
    where = scope()
    params = {"metric": metric, "ifu": ifu, "subunit": args.get("subunit") or None,
              "type": args.get("type") or None, "start": query_date(args.get("start")),
              "end": query_date(args.get("end")), **where}
    get_conn().execute(text("SET LOCAL work_mem = '64MB'"))
    get_conn().execute(text("SET LOCAL random_page_cost = 1.1"))   # as for the heat map
    limits = [Threshold(**r) for r in rows(_LIMITS, metric=metric)]
    levels = Levels(limits)
    series: dict[str, dict] = {}
    unit = ""
    # 24,000 points: the series name by position, the night as ISO text from the SQL (the
    # driver's date parsing and isoformat cost more than the query's join)
    index = {"ifu": 2, "subunit": 3, "mode": 6}[split]
    level = levels.level
    for point in _points(params):
        night, fid, p_ifu, sub, value, p_unit, mode = point
        unit = unit or p_unit or ""
        key = point[index]
        s = series.get(key)
        if s is None:
            s = series[key] = {"x": [], "y": [], "file_id": [], "level": []}
        s["x"].append(night)
        s["y"].append(value)
        s["file_id"].append(fid)
        s["level"].append(level(metric, night, mode, p_ifu, sub, value))
    named = {(f"IFU {k}" if k else "whole file") if split == "ifu" else (k or "-"): v
             for k, v in series.items()}
    out = {"metric": metric, "unit": unit or next((t.unit for t in limits if t.unit), ""),
           "split": split, "ifu": ifu, "series": _ordered(named),
           "limits": limit_periods(limits, where["mode"], ifu)}
    if args.get("dimm"):
        dimm = rows(_DIMM, **{k: params[k] for k in ("start", "end", "project_id", "mode")})
        out["dimm"] = {"x": [d["night"].isoformat() for d in dimm],
                       "y": [d["dimm"] for d in dimm]}
    return out


def _points(params: dict):
    return get_conn().execute(text(_POINTS), params)


def _ordered(series: dict[str, dict]) -> dict[str, dict]:
    def key(name: str) -> tuple:
        tail = name.removeprefix("IFU ")
        return (0, int(tail), "") if tail.isdigit() else (1, 0, name)
    return {k: series[k] for k in sorted(series, key=key)}


@bp.route("/api/trend")
def trend_api() -> Response:
    """The plotted points as JSON, or as CSV with ``format=csv``."""
    data = trend_data(request.args)
    if request.args.get("format") != "csv":
        return jsonify(data)
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow(["series", "night", "file_id", "metric", "value", "unit", "level"])
    for name, s in data["series"].items():
        for x, y, fid, level in zip(s["x"], s["y"], s["file_id"], s["level"], strict=True):
            out.writerow([name, x, fid, data["metric"], repr(y), data["unit"], level or ""])
    name = "".join(c if c.isalnum() or c in "._-" else "_" for c in data["metric"]) or "trend"
    return Response(buf.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})


def metric_names() -> list[str]:
    return [r["name"] for r in rows(_NAMES)]


@bp.route("/trends")
def trends() -> str:
    """The trend page: choose a metric, a range and a split; the plot loads from the API."""
    types = rows("SELECT DISTINCT dpr_type AS t FROM qc.raw_frames UNION "
                 "SELECT DISTINCT pro_catg FROM qc.products ORDER BY 1")
    return render_template("trends.html", names=metric_names(), args=request.args,
                           types=[t["t"] for t in types if t["t"]], splits=SPLITS)


@bp.route("/ifu/<int:ifu>")
def ifu_history(ifu: int) -> str:
    """One IFU's history: the key metric of each category over nights, and its flags."""
    if not 1 <= ifu <= N_IFU:
        abort(404)
    flagged = rows("""
        SELECT s.file_id, f.filename, s.flags, s.is_valid, s.decided_by,
               coalesce(r.night, p.night) AS night, coalesce(r.dpr_type, p.pro_catg) AS type
        FROM qc.ifu_status s JOIN qc.files f USING (file_id)
        LEFT JOIN qc.raw_frames r USING (file_id) LEFT JOIN qc.products p USING (file_id)
        WHERE s.ifu = :ifu AND (cardinality(s.flags) > 0 OR NOT s.is_valid)
          AND f.project_id = :project_id AND qc.may_see(:uid, s.file_id)
          AND (CAST(:mode AS text) IS NULL OR coalesce(r.ins_mode, p.ins_mode) = :mode)
        ORDER BY night DESC, f.filename LIMIT 200""", ifu=ifu, **scope())
    return render_template("ifu.html", ifu=ifu, flagged=flagged, key_metrics=KEY_METRICS)
