"""The QC view of a night's master calibrations: one file per IFU, the chosen metric
per IFU and sub-unit (quadrant, slice), e.g. the master bias level and read noise."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request

from qcservice.dates import query_date
from qcservice.viewer.access import scope
from qcservice.viewer.categories import MASTERS
from qcservice.viewer.db import rows
from qcservice.viewer.evidence import metric_limits

bp = Blueprint("calib", __name__)

_MASTERS = """
SELECT p.file_id, p.ifu, p.ins_mode, f.filename, q.state,
       qc.viewer_validity(f.file_id, 'product', q.state) AS validity
FROM qc.products p JOIN qc.files f USING (file_id) LEFT JOIN qc.qa q USING (file_id)
WHERE p.night = :night AND p.pro_catg = :catg
  AND f.project_id = :project_id AND qc.may_see(:uid, f.file_id)
  AND (CAST(:mode AS text) IS NULL OR p.ins_mode = :mode)
ORDER BY p.ifu, p.ins_mode, f.filename"""

_METRICS = """
SELECT m.file_id, m.name, m.subunit, m.value, m.unit FROM qc.metrics m
WHERE m.file_id = ANY(:ids) AND m.value IS NOT NULL
ORDER BY m.name, m.subunit"""

# what the page opens with, per master: the level and the noise the prototype showed
_PREFERRED = ("RON", "LEVEL", "NOISE", "DC", "MEDIAN", "MEAN", "RESOL", "RMS")


def _sort_subunits(subunits: set[str]) -> list[str]:
    return sorted(subunits, key=lambda s: (len(s), s))


def _pick(names: list[str], wanted: str | None) -> str | None:
    if wanted in names:
        return wanted
    for word in _PREFERRED:
        for name in names:
            if word in name.upper().replace(".", " ").replace("_", " ").split():
                return name
    return names[0] if names else None


def master_table(masters: list[dict], metric: str | None) -> tuple[list[str], list[str], dict]:
    """Metric names, the chosen metric's sub-units, and value per (file_id, subunit)."""
    ids = [m["file_id"] for m in masters]
    all_rows = rows(_METRICS, ids=ids) if ids else []
    names = sorted({r["name"] for r in all_rows})
    chosen = _pick(names, metric)
    values = {(r["file_id"], r["subunit"] or ""): r["value"]
              for r in all_rows if r["name"] == chosen}
    subunits = _sort_subunits({sub for (_f, sub) in values})
    return names, subunits, {"chosen": chosen, "values": values}


@bp.route("/night/<night>/calib/<catg>")
def masters(night: str, catg: str) -> str:
    """Master calibrations of one night and PRO CATG, per IFU."""
    if catg not in MASTERS.values():
        abort(404)
    day = query_date(night)
    if day is None:
        abort(404)
    found = rows(_MASTERS, night=day, catg=catg, **scope())
    names, subunits, table = master_table(found, request.args.get("metric"))
    plot = {sub: [[m["ifu"], table["values"].get((m["file_id"], sub))] for m in found]
            for sub in subunits}
    limits = metric_limits(table["chosen"], day, scope()["mode"]) if table["chosen"] else []
    previews = {r["ifu"]: r for r in rows(
        "SELECT DISTINCT ON (p.ifu) p.ifu, i.image_id, f.filename FROM qc.qc_images i "
        "JOIN qc.products p USING (file_id) JOIN qc.files f USING (file_id) "
        "WHERE i.file_id = ANY(:ids) AND i.kind = 'preview' AND p.ifu IS NOT NULL "
        "ORDER BY p.ifu, p.ins_mode, f.filename", ids=[m["file_id"] for m in found])}
    return render_template("calib.html", night=day, catg=catg, masters=found, names=names,
                           subunits=subunits, chosen=table["chosen"], values=table["values"],
                           plot=plot, limits=limits, previews=previews)
