"""Job runs, links, contact, the project and mode choice, and
the plotting library served from the installed plotly package (no CDN)."""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from sqlalchemy import text

from qcservice.viewer.auth import safe_next
from qcservice.viewer.db import get_conn, row, rows
from qcservice.vocabulary import INS_MODES

bp = Blueprint("pages", __name__)

@bp.route("/jobs")
def jobs() -> str:
    """QC, ingest and publish runs from qc.job_runs, and QC's per-file results."""
    runs = rows("SELECT run_id, kind, status, started_at, finished_at, host, n_done, "
                "n_skipped, n_failed, message FROM qc.job_runs "
                "ORDER BY started_at DESC, run_id DESC LIMIT 200")
    done = rows("SELECT task, status, count(*) AS n, max(done_at) AS last FROM qc.qc_done "
                "GROUP BY task, status ORDER BY task, status")
    duplicates = rows(  # copies of exposures that ingest counted once (issue #14)
        "SELECT f.path, o.path AS original, d.reason, d.found_at FROM qc.duplicates d "
        "JOIN qc.files f USING (file_id) JOIN qc.files o ON o.file_id = d.original_file_id "
        "WHERE qc.may_see(:uid, d.original_file_id) ORDER BY d.found_at DESC, f.path "
        "LIMIT 200", uid=g.user.user_id)
    return render_template("jobs.html", runs=runs, done=done, duplicates=duplicates)


@bp.route("/jobs/<int:run_id>")
def run_failures(run_id: int) -> str:
    """What one run could not do: QC's failed files (those the user may see) and the
    files an ingest refused, each with its reason."""
    run = row("SELECT run_id, kind, status, started_at, message FROM qc.job_runs "
              "WHERE run_id = :r", r=run_id)
    if run is None:
        abort(404)
    qc_failed = rows("""
        SELECT d.file_id, f.filename, d.task, d.error, d.done_at FROM qc.qc_done d
        JOIN qc.files f USING (file_id)
        WHERE d.run_id = :r AND d.status = 'failed' AND qc.may_see(:uid, d.file_id)
        ORDER BY f.filename LIMIT 1000""", r=run_id, uid=g.user.user_id)
    refused = rows("SELECT path, reason, last_seen FROM qc.ingest_failures "
                   "WHERE run_id = :r ORDER BY path LIMIT 1000", r=run_id)
    return render_template("run.html", run=run, qc_failed=qc_failed, refused=refused)


@bp.route("/links")
def links() -> str:
    """The VO services: TAP, its examples, ObsCore, SIAv2, SSA."""
    vo = current_app.config["VO_URL"]
    return render_template("links.html", vo=vo, tap=vo.rstrip("/") + "/tap")


@bp.route("/contact")
def contact() -> str:
    """Who to ask."""
    return render_template("contact.html")


@bp.post("/select")
def select() -> Response:
    """Choose the project and mode that every page filters on."""
    project = request.form.get("project", "")
    mode = request.form.get("mode") or None
    if row("SELECT 1 AS ok FROM qc.projects WHERE name = :n", n=project) is None:
        abort(400, "unknown project")
    if mode is not None and mode not in INS_MODES:
        abort(400, "unknown mode")
    conn = get_conn()
    conn.execute(text("UPDATE qc.viewer_sessions SET project = :p, ins_mode = :m "
                      "WHERE token_hash = :h"),
                 {"p": project, "m": mode, "h": g.sess["token_hash"]})
    conn.commit()
    return redirect(safe_next(request.form.get("next"), url_for("summary.home")))


@bp.route("/vendor/plotly.min.js")
def vendor() -> Response:
    """plotly.js from the installed plotly package: the viewer works offline."""
    import plotly

    path = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    return send_file(path, mimetype="text/javascript", max_age=86400)


@bp.route("/favicon.ico")
def favicon() -> Response:
    """No icon: an empty answer, not a redirect to the login."""
    return Response(status=204)


def projects() -> list[str]:
    """The projects to choose from (templates)."""
    return [r["name"] for r in rows("SELECT name FROM qc.projects ORDER BY project_id")]
