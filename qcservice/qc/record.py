"""Write the outcome of one QC task in one transaction: metrics, images, flags, QA state.

Re-running a task replaces its computed metrics and images; the automatic per-IFU
status and QA state are updated, but never a decision a QC scientist took
(``decided_by`` other than 'auto'): only the flags and ``auto_state`` follow the data
there. Every change of an automatic decision is appended to qc.audit_log. An advisory
lock on the file serialises two runs that reach the same file at once.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, delete, text
from sqlalchemy.dialects.postgresql import insert

from qcservice.db.schema import Tables
from qcservice.qc.evaluate import Verdict, evaluate
from qcservice.qc.result import TaskResult
from qcservice.qc.thresholds import ThresholdSet

_UPSERT_IFU = text("""
    INSERT INTO qc.ifu_status (file_id, ifu, flags, is_valid)
    VALUES (:file_id, :ifu, :flags, :is_valid)
    ON CONFLICT (file_id, ifu) DO UPDATE SET
        flags = EXCLUDED.flags,
        is_valid = CASE WHEN qc.ifu_status.decided_by = 'auto' THEN EXCLUDED.is_valid
                        ELSE qc.ifu_status.is_valid END,
        updated_at = now()""")
_UPSERT_QA = text("""
    INSERT INTO qc.qa (file_id, auto_state, state, flags)
    VALUES (:file_id, :state, :state, :flags)
    ON CONFLICT (file_id) DO UPDATE SET
        auto_state = EXCLUDED.auto_state,
        flags = EXCLUDED.flags,
        state = CASE WHEN qc.qa.decided_by = 'auto' THEN EXCLUDED.state ELSE qc.qa.state END,
        updated_at = now()""")


def _audit(conn: Connection, action: str, file_id: int, ifu: int | None, old, new) -> None:
    conn.execute(text("INSERT INTO qc.audit_log (actor, action, file_id, ifu, old_value, "
                      "new_value) VALUES ('qc', :a, :f, :i, CAST(:o AS jsonb), "
                      "CAST(:n AS jsonb))"),
                 {"a": action, "f": file_id, "i": ifu, "o": old, "n": new})


def _json(value: object) -> str | None:
    import json

    return None if value is None else json.dumps(value)


def apply_verdict(conn: Connection, file_id: int, verdict: Verdict) -> str:
    """Store per-IFU status and QA state; returns the automatic state."""
    old_ifus = {r.ifu: (r.is_valid, list(r.flags)) for r in conn.execute(
        text("SELECT ifu, is_valid, flags FROM qc.ifu_status WHERE file_id = :f"),
        {"f": file_id})}
    for ifu in sorted(verdict.measured_ifus | set(verdict.ifu_flags)):
        flags = sorted(verdict.ifu_flags.get(ifu, {}))
        valid = "error" not in verdict.ifu_flags.get(ifu, {}).values()
        conn.execute(_UPSERT_IFU, {"file_id": file_id, "ifu": ifu, "flags": flags,
                                   "is_valid": valid})
        if old_ifus.get(ifu) != (valid, flags):
            old = old_ifus.get(ifu)
            _audit(conn, "auto_ifu_status", file_id, ifu,
                   _json(old and {"is_valid": old[0], "flags": old[1]}),
                   _json({"is_valid": valid, "flags": flags}))
    state = verdict.state()
    old_state = conn.execute(text("SELECT auto_state FROM qc.qa WHERE file_id = :f"),
                             {"f": file_id}).scalar()
    conn.execute(_UPSERT_QA, {"file_id": file_id, "state": state,
                              "flags": sorted(verdict.file_flags)})
    if old_state != state:
        _audit(conn, "auto_qa_state", file_id, None, _json(old_state), _json(state))
    return state


def record_result(conn: Connection, t: Tables, *, file_id: int, task: str,
                  file_updated_at: dt.datetime, code_version: str, run_id: int,
                  result: TaskResult, thresholds: ThresholdSet, night: dt.date,
                  ins_mode: str | None) -> str:
    """Replace the file's computed metrics and images, evaluate, mark done."""
    conn.execute(text("SELECT pg_advisory_xact_lock(:f)"), {"f": file_id})
    conn.execute(delete(t.metrics).where(t.metrics.c.file_id == file_id,
                                         t.metrics.c.source == "computed"))
    if result.metrics:
        conn.execute(insert(t.metrics), [
            {"file_id": file_id, "ifu": m.ifu, "subunit": m.subunit, "name": m.name,
             "value": m.value, "unit": m.unit or None, "source": "computed", "run_id": run_id}
            for m in result.metrics])
    conn.execute(delete(t.qc_images).where(t.qc_images.c.file_id == file_id))
    if result.images:
        conn.execute(insert(t.qc_images), [
            {"file_id": file_id, "ifu": i.ifu, "kind": i.kind, "title": i.title,
             "path": i.path, "mime": i.mime, "run_id": run_id} for i in result.images])
    rows = conn.execute(text("SELECT ifu, subunit, name, value FROM qc.metrics "
                             "WHERE file_id = :f"), {"f": file_id}).all()
    state = apply_verdict(conn, file_id, evaluate([tuple(r) for r in rows], thresholds,
                                                  night, ins_mode))
    _mark(conn, t, file_id, task, "done", None, file_updated_at, code_version, run_id)
    return state


def record_qc_failure(conn: Connection, t: Tables, *, file_id: int, task: str, error: str,
                   file_updated_at: dt.datetime, code_version: str, run_id: int) -> None:
    """Remember that QC of the file failed; its earlier results stay as they were."""
    _mark(conn, t, file_id, task, "failed", error, file_updated_at, code_version, run_id)


def _mark(conn: Connection, t: Tables, file_id: int, task: str, status: str,
          error: str | None, file_updated_at: dt.datetime, code_version: str,
          run_id: int) -> None:
    values = {"file_id": file_id, "task": task, "status": status, "error": error,
              "file_updated_at": file_updated_at, "code_version": code_version,
              "run_id": run_id}
    stmt = insert(t.qc_done).values(**values)
    conn.execute(stmt.on_conflict_do_update(
        index_elements=["file_id"],
        set_={**{k: stmt.excluded[k] for k in values if k != "file_id"},
              "done_at": text("now()")}))
