"""Q.A.: the review queue and bulk decisions.

The queue holds every file QC did not pass (QA state other than Pass, or flagged IFUs
and no QA state) that no person has decided yet, and every file whose QC failed,
newest night first, filtered by the project and mode chosen in the header. A decision
(here or on a file's page) takes the file out of the queue; ``?view=all`` keeps the
decided ones in view. One form decides many files at once: their QA state and their
IFUs' validity, with one comment.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, g, redirect, render_template, request, url_for

from qcservice.viewer.access import CLASS_COLUMNS, VISIBLE, require_file, scope
from qcservice.viewer.auth import require_validator
from qcservice.viewer.db import row, rows
from qcservice.viewer.file_facts import IFU_SUMMARY
from qcservice.viewer.validate import (
    back,
    commit_decision,
    decide_ifu,
    decide_qa,
    form_comment,
)

bp = Blueprint("review", __name__)

_QUEUE = f"""
WITH candidates AS (
    SELECT file_id FROM qc.qa WHERE state <> 'Pass'
      AND (decided_by = 'auto' OR CAST(:everything AS boolean))
    UNION SELECT file_id FROM qc.qc_done WHERE status = 'failed'
    UNION SELECT s.file_id FROM qc.ifu_status s   -- flagged IFUs, no QA state yet
    WHERE cardinality(s.flags) > 0
      AND NOT EXISTS (SELECT 1 FROM qc.qa q WHERE q.file_id = s.file_id)
), pts AS MATERIALIZED (
    SELECT f.file_id, f.filename, coalesce(r.night, p.night) AS night,
           coalesce(r.dpr_type, p.pro_catg) AS type, p.ifu, {CLASS_COLUMNS}
    FROM candidates JOIN qc.files f USING (file_id)
    LEFT JOIN qc.raw_frames r USING (file_id) LEFT JOIN qc.products p USING (file_id)
    WHERE f.project_id = :project_id
      AND (CAST(:mode AS text) IS NULL OR coalesce(r.ins_mode, p.ins_mode) = :mode)
), {VISIBLE.format(cte="pts")}, queue AS (
    SELECT pts.* FROM pts JOIN visible USING (og, priv, released)
    ORDER BY night DESC, filename, file_id LIMIT :limit
)
SELECT f.file_id, f.filename, f.night, f.type, f.ifu,
       coalesce(r.ins_mode, p.ins_mode) AS ins_mode,
       coalesce(q.state, 'Undefined') AS state, q.decided_by,
       coalesce(q.flags, '{{}}') AS qa_flags, d.status AS qc_status, d.error AS qc_error,
       st.n_flagged, st.n_invalid, st.ifu_flags
FROM queue f
LEFT JOIN qc.raw_frames r USING (file_id) LEFT JOIN qc.products p USING (file_id)
LEFT JOIN qc.qa q USING (file_id) LEFT JOIN qc.qc_done d USING (file_id)
{IFU_SUMMARY}
ORDER BY f.night DESC, f.filename, f.file_id"""

# the keys of the whole queue, in its order (next / previous on a file's page)
_KEYS = _QUEUE[:_QUEUE.index("queue AS (")].rstrip().rstrip(",") + """
SELECT pts.file_id, pts.night, pts.filename FROM pts JOIN visible USING (og, priv, released)
ORDER BY night DESC, filename, file_id"""

# what people decided (QC's own automatic changes are on each file's page); the IFUs of
# one decision on one file make one row
_DECISIONS = """
SELECT max(a.at) AS at, a.actor, a.action, a.file_id, f.filename,
       string_agg(a.ifu::text, ', ' ORDER BY a.ifu) AS ifus,
       (array_agg(a.new_value ORDER BY a.entry_id DESC))[1] AS new_value, a.comment
FROM qc.audit_log a JOIN qc.files f USING (file_id)
WHERE a.actor <> 'qc' AND qc.may_see(:uid, a.file_id)
GROUP BY a.actor, a.action, a.file_id, f.filename, a.comment, a.new_value->>'is_valid',
         date_trunc('minute', a.at)
ORDER BY max(a.entry_id) DESC LIMIT 50"""

IFU_CHOICES = {"keep": "leave the IFUs as they are",
               "confirm": "confirm QC's IFU verdicts",
               "valid": "every IFU valid", "invalid": "every IFU invalid"}


def queue_items(everything: bool = False, limit: int = 1000) -> list[dict]:
    """The review queue in the user's project and mode, newest night first."""
    return rows(_QUEUE, everything=everything, limit=limit, **scope())


@bp.route("/qa/step/<int:file_id>/<direction>")
def step(file_id: int, direction: str) -> Response:
    """The file before or after this one in the queue (it may have just left it): worked
    out when asked, so a file's page does not pay for the whole queue."""
    if direction not in ("previous", "next"):
        abort(404)
    require_file(file_id)
    here = row("SELECT coalesce(r.night, p.night) AS night, f.filename FROM qc.files f "
               "LEFT JOIN qc.raw_frames r USING (file_id) "
               "LEFT JOIN qc.products p USING (file_id) WHERE f.file_id = :f", f=file_id)
    key = _key(here["night"], here["filename"], file_id)
    before = after = None
    for item in rows(_KEYS, everything=False, **scope()):
        other = _key(item["night"], item["filename"], item["file_id"])
        if other < key:
            before = item["file_id"]
        elif other > key:
            after = item["file_id"]
            break
    target = before if direction == "previous" else after
    if target is None:
        return redirect(url_for("review.queue"))
    return redirect(url_for("files.detail", file_id=target))


def _key(night, filename: str, file_id: int) -> tuple:
    """A file's place in the queue's order: newest night first, then by name."""
    return (-night.toordinal() if night else 0, filename, file_id)


@bp.route("/qa")
def queue() -> str:
    """The review queue (``?view=all``: decided files too) and the latest decisions."""
    everything = request.args.get("view") == "all"
    return render_template("qa.html", items=queue_items(everything), everything=everything,
                           ifu_choices=IFU_CHOICES,
                           audit=rows(_DECISIONS, uid=g.user.user_id))


def _decide_ifus(file_id: int, choice: str, comment: str) -> None:
    statuses = rows("SELECT ifu, is_valid FROM qc.ifu_status WHERE file_id = :f ORDER BY ifu",
                    f=file_id)
    for s in statuses:
        valid = {"confirm": s["is_valid"], "valid": True, "invalid": False}[choice]
        decide_ifu(file_id, s["ifu"], valid, comment)


@bp.post("/qa/decide")
@require_validator
def decide() -> Response:
    """One decision for the selected files: QA state and IFU validity, one comment."""
    ids = request.form.getlist("file_id")
    if not ids or not all(i.isdigit() for i in ids):
        abort(400, "select at least one file")
    state = request.form.get("state", "")
    choice = request.form.get("ifus", "keep")
    if choice not in IFU_CHOICES:
        abort(400, "unknown IFU choice")
    if not state and choice == "keep":
        abort(400, "choose a QA state or an IFU verdict")
    comment = form_comment()
    for file_id in sorted({int(i) for i in ids}):
        require_file(file_id)   # one hidden file refuses the whole decision
        if state:
            decide_qa(file_id, state, comment)
        if choice != "keep":
            _decide_ifus(file_id, choice, comment)
    commit_decision()
    return back(None)
