"""Validation by QC scientists: is_valid per IFU and the QA state of a file, with a
comment, each change appended to ``qc.audit_log``. A decision is the scientist's
(``decided_by`` = username) until handed back to QC (``decided_by`` = 'auto'): batch QC
changes only what is 'auto'."""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, g, redirect, request, url_for
from sqlalchemy import text

from qcservice.viewer.access import require_file
from qcservice.viewer.args import ifu_arg
from qcservice.viewer.auth import require_validator, safe_next
from qcservice.viewer.db import get_conn, row
from qcservice.viewer.evidence import auto_verdict
from qcservice.viewer.summary import refresh_counts

bp = Blueprint("validate", __name__)

_SET_IFU = text("""
INSERT INTO qc.ifu_status (file_id, ifu, is_valid, decided_by, comment)
VALUES (:fid, :ifu, :valid, :who, :comment)
ON CONFLICT (file_id, ifu) DO UPDATE SET is_valid = excluded.is_valid,
    decided_by = excluded.decided_by, comment = excluded.comment, updated_at = now()""")
_IFU_TO_AUTO = text("""
UPDATE qc.ifu_status SET is_valid = :valid, decided_by = 'auto', comment = '',
    updated_at = now() WHERE file_id = :fid AND ifu = :ifu""")
_SET_QA = text("""
INSERT INTO qc.qa (file_id, state, decided_by, comment) VALUES (:fid, :state, :who, :comment)
ON CONFLICT (file_id) DO UPDATE SET state = excluded.state,
    decided_by = excluded.decided_by, comment = excluded.comment, updated_at = now()""")
_QA_TO_AUTO = text("""
UPDATE qc.qa SET state = auto_state, decided_by = 'auto', comment = '',
    updated_at = now() WHERE file_id = :fid""")
_AUDIT = text("""
INSERT INTO qc.audit_log (actor, action, file_id, ifu, old_value, new_value, comment)
VALUES (:actor, :action, :fid, :ifu, CAST(:old AS jsonb), CAST(:new AS jsonb), :comment)""")


def commit_decision() -> None:
    """Commit, then recount the summary of the night(s) the decision changed: the one
    who decided waits for that, not the next reader of the summary."""
    get_conn().commit()
    refresh_counts()


def back(file_id: int | None) -> Response:
    """Back where the reader was: the page (and its section) the form came from, if it is
    a path on this site (safe_next: the one redirect rule)."""
    default = (url_for("review.queue") if file_id is None
               else url_for("files.detail", file_id=file_id))
    return redirect(safe_next(request.form.get("next"), default))


def form_comment() -> str:
    comment = request.form.get("comment", "").strip()
    if not comment:
        abort(400, "a decision needs a comment")
    return comment[:2000]


def _audit(action: str, file_id: int, ifu: int | None, old: dict | None, new: dict | None,
           comment: str) -> None:
    get_conn().execute(_AUDIT, {"actor": g.user.username, "action": action, "fid": file_id,
                                "ifu": ifu, "old": json.dumps(old, default=str),
                                "new": json.dumps(new, default=str), "comment": comment})


def decide_ifu(file_id: int, ifu: int, valid: bool, comment: str) -> None:
    """A QC scientist's is_valid for one IFU (audited; the caller commits)."""
    old = row("SELECT is_valid, decided_by, comment, flags FROM qc.ifu_status "
              "WHERE file_id = :f AND ifu = :i FOR UPDATE", f=file_id, i=ifu)
    get_conn().execute(_SET_IFU, {"fid": file_id, "ifu": ifu, "valid": valid,
                                  "who": g.user.username, "comment": comment})
    _audit("set_ifu_valid", file_id, ifu, old,
           {"is_valid": valid, "decided_by": g.user.username}, comment)


def ifu_to_auto(file_id: int, ifu: int, comment: str) -> None:
    """Hand one IFU back to QC: QC's own verdict from the metrics as they are (not the
    scientist's value relabelled); the scientist's comment stays in the audit log."""
    old = row("SELECT is_valid, decided_by, comment, flags FROM qc.ifu_status "
              "WHERE file_id = :f AND ifu = :i FOR UPDATE", f=file_id, i=ifu)
    if old is None:
        abort(400, "QC has not assessed this IFU: nothing to hand back")
    valid = ifu not in auto_verdict(file_id).invalid_ifus()
    get_conn().execute(_IFU_TO_AUTO, {"fid": file_id, "ifu": ifu, "valid": valid})
    _audit("ifu_to_auto", file_id, ifu, old,
           {"is_valid": valid, "flags": old["flags"], "decided_by": "auto"}, comment)


def decide_qa(file_id: int, state: str, comment: str) -> None:
    """A QC scientist's QA state of a file (audited; the caller commits)."""
    if row("SELECT 1 AS ok FROM qc.qa_states WHERE code = :c", c=state) is None:
        abort(400, "unknown QA state")
    old = row("SELECT auto_state, state, decided_by FROM qc.qa WHERE file_id = :f FOR UPDATE",
              f=file_id)
    get_conn().execute(_SET_QA, {"fid": file_id, "state": state, "who": g.user.username,
                                 "comment": comment})
    _audit("set_qa_state", file_id, None, old,
           {"state": state, "decided_by": g.user.username}, comment)


def qa_to_auto(file_id: int, comment: str) -> None:
    """Hand the QA state back to QC: its automatic state again, the audit keeps both."""
    old = row("SELECT auto_state, state, decided_by FROM qc.qa WHERE file_id = :f FOR UPDATE",
              f=file_id)
    if old is None:
        abort(400, "QC has not assessed this file: nothing to hand back")
    get_conn().execute(_QA_TO_AUTO, {"fid": file_id})
    _audit("qa_to_auto", file_id, None, old,
           {"state": old["auto_state"], "decided_by": "auto"}, comment)


@bp.post("/file/<int:file_id>/ifu")
@require_validator
def set_ifu(file_id: int) -> Response:
    """Set is_valid of one IFU (action 'set'), or hand it back to QC (action 'auto')."""
    require_file(file_id)
    ifu = ifu_arg(request.form, required=True)
    if request.form.get("action") == "auto":
        ifu_to_auto(file_id, ifu, form_comment())
    else:
        decide_ifu(file_id, ifu, request.form.get("is_valid") == "1", form_comment())
    commit_decision()
    return back(file_id)


@bp.post("/file/<int:file_id>/qa")
@require_validator
def set_qa(file_id: int) -> Response:
    """Set the QA state of a file (action 'set'), or hand it back to QC (action 'auto')."""
    require_file(file_id)
    if request.form.get("action") == "auto":
        qa_to_auto(file_id, form_comment())
    else:
        decide_qa(file_id, request.form.get("state", ""), form_comment())
    commit_decision()
    return back(file_id)
