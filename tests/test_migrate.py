"""Migrations: ordered, recorded, idempotent, and guarded against edits."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from qcservice.db.migrate import (
    MigrationError,
    applied_versions,
    apply_migrations,
    load_migrations,
    migrations_dir,
    pending_migrations,
)


def test_template_is_fully_migrated_and_rerun_is_a_no_op(engine: Engine) -> None:
    versions = applied_versions(engine)
    assert [v for v, _, _ in versions] == [m.version for m in load_migrations()]
    assert versions[0][1] == "001_qc_core.sql"
    assert apply_migrations(engine) == []
    assert pending_migrations(engine) == []
    assert applied_versions(engine) == versions


def test_new_migration_applies_once_and_edit_is_refused(engine: Engine,
                                                        tmp_path: Path) -> None:
    folder = tmp_path / "sql"
    shutil.copytree(migrations_dir(), folder)
    (folder / "099_extra.sql").write_text("CREATE TABLE qc.extra (x int);")
    assert [m.filename for m in apply_migrations(engine, folder)] == ["099_extra.sql"]
    assert apply_migrations(engine, folder) == []
    (folder / "099_extra.sql").write_text("CREATE TABLE qc.extra (x bigint);")
    with pytest.raises(MigrationError, match=r"099_extra\.sql was edited"):
        pending_migrations(engine, folder)


def test_badly_named_migration(tmp_path: Path, engine: Engine) -> None:
    (tmp_path / "fix.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match=r"NNN_name\.sql"):
        apply_migrations(engine, tmp_path)


def test_audit_log_is_append_only(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO qc.audit_log (actor, action) VALUES ('qc1', 'test')"))
    for statement in ("UPDATE qc.audit_log SET actor = 'x'", "DELETE FROM qc.audit_log",
                      "TRUNCATE qc.audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM qc.audit_log")).scalar() == 1


def test_qa_vocabulary(engine: Engine) -> None:
    with engine.connect() as conn:
        states = conn.execute(text("SELECT code FROM qc.qa_states ORDER BY rank")).scalars()
        assert list(states) == ["Pass", "Usable", "Fail", "Check", "Undefined"]
