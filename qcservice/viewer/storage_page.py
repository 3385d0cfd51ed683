"""Storage accounting in the viewer: volume per category, night, programme and year, and
its growth against the plan (``qcservice.storage``). Aggregates only: no file is named."""

from __future__ import annotations

from flask import Blueprint, g, render_template, request

from qcservice.dates import query_date
from qcservice.storage import PLAN_BYTES, PLAN_YEARS, human, storage_report
from qcservice.viewer.db import get_conn

bp = Blueprint("storage_page", __name__)


@bp.route("/storage")
def storage() -> str:
    """The storage report of the chosen project (``?all=1``: every project) in the chosen
    instrument mode (the mode filter every page follows)."""
    project = None if request.args.get("all") else g.sess["project"]
    report = storage_report(get_conn(), project, query_date(request.args.get("start")),
                            query_date(request.args.get("as_of")), mode=g.sess["ins_mode"])
    return render_template("storage.html", report=report, human=human, plan=PLAN_BYTES,
                           plan_years=PLAN_YEARS, all_projects=project is None)
