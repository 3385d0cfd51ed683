"""Migrations: ordered, recorded, idempotent, and guarded against edits."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from support import fresh_database

from qcservice.cli import main
from qcservice.config import Settings
from qcservice.db.cluster import DB_ROLE, EmbeddedCluster
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


# A squash of two migrations, and the two it replaces (running it over them would fail)
SQUASH = {"095_ab.sql": "-- replaces: 90 91\nCREATE TABLE qc.a (x int);\n"
                        "CREATE TABLE qc.b (y int);\n"}
REPLACED = {"090_a.sql": "CREATE TABLE qc.a (x int);", "091_b.sql": "CREATE TABLE qc.b (y int);"}


def _sql_dir(folder: Path, files: dict[str, str]) -> Path:
    """Today's migrations and ``files`` in ``folder``."""
    shutil.copytree(migrations_dir(), folder)
    for name, sql in files.items():
        (folder / name).write_text(sql)
    return folder


def _filenames(engine: Engine, folder: Path) -> list[str]:
    return [m.filename for m in apply_migrations(engine, folder)]


def test_squash_runs_where_nothing_it_replaces_was_applied(engine: Engine,
                                                          tmp_path: Path) -> None:
    assert _filenames(engine, _sql_dir(tmp_path / "sql", SQUASH)) == ["095_ab.sql"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM qc.a, qc.b")).scalar() == 0


def test_squash_is_recorded_where_all_it_replaces_was_applied(engine: Engine,
                                                             tmp_path: Path) -> None:
    assert _filenames(engine, _sql_dir(tmp_path / "old", REPLACED)) == ["090_a.sql", "091_b.sql"]
    new = _sql_dir(tmp_path / "new", SQUASH)
    assert _filenames(engine, new) == ["095_ab.sql"]   # recorded, not run: qc.a exists
    assert pending_migrations(engine, new) == []      # 090 and 091 gone: their rows stay
    assert {90, 91, 95} <= {v for v, _, _ in applied_versions(engine)}


def test_squash_refuses_a_database_with_part_of_what_it_replaces(engine: Engine,
                                                                tmp_path: Path) -> None:
    _filenames(engine, _sql_dir(tmp_path / "old", {"090_a.sql": REPLACED["090_a.sql"]}))
    new = _sql_dir(tmp_path / "new", {**SQUASH, "099_c.sql": "CREATE TABLE qc.c (z int);"})
    message = (r"095_ab\.sql replaces migrations 90 91, of which this database lacks 91: "
               r"upgrade it first with the release before 095_ab\.sql")
    with pytest.raises(MigrationError, match=message):
        apply_migrations(engine, new)
    with pytest.raises(MigrationError, match=message):
        pending_migrations(engine, new)
    assert 99 not in {v for v, _, _ in applied_versions(engine)}   # nothing ran


def test_squash_beside_a_file_it_replaces_is_refused(tmp_path: Path) -> None:
    _sql_dir(tmp_path / "sql", {**SQUASH, "091_b.sql": REPLACED["091_b.sql"]})
    with pytest.raises(MigrationError, match=r"095_ab\.sql replaces 091_b\.sql, which must be "
                                             r"deleted"):
        load_migrations(tmp_path / "sql")


# The last tree whose sql/ built the viewer's objects step by step (004, 030, 031, 035,
# 036, 037), before sql/038_viewer.sql squashed them.
BEFORE_SQUASH = "7f93d93"


def _files_before_squash(folder: Path) -> Path:
    """sql/ as it was before the squash, from git history (without git the test fails)."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(Path(__file__).parent), *args], check=True,
                              capture_output=True, text=True).stdout
    folder.mkdir()
    for name in git("ls-tree", "--name-only", BEFORE_SQUASH, ":/sql/").split():
        (folder / Path(name).name).write_text(git("show", f"{BEFORE_SQUASH}:{name}"))
    return folder


def _state(settings: Settings, engine: Engine) -> tuple[list[str], dict[str, set[str]]]:
    """The qc schema as pg_dump writes it (tables, functions, triggers, grants, comments;
    its entries sorted: pg_dump orders some by OID), and the distinct rows of each table
    without their time stamps (a queue noted dirty twice means what once does)."""
    cluster = EmbeddedCluster(settings)
    dump = subprocess.run(
        [str(settings.pg_bin / "pg_dump"), "--schema-only", "--schema=qc", "-h",
         str(cluster.socket_dir), "-p", str(settings.pg_port), "-U", DB_ROLE,
         "-d", str(engine.url.database)], env={**os.environ, "PGPASSWORD": cluster.password()},
        check=True, capture_output=True, text=True).stdout
    lines = [line for line in dump.splitlines() if not line.startswith("\\")]  # \restrict key
    with engine.connect() as conn:
        tables = conn.execute(text(
            "SELECT table_name, "
            "string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) "
            "FROM information_schema.columns WHERE table_schema = 'qc' "
            "AND data_type NOT LIKE 'timestamp%' AND table_name <> 'schema_migrations' "
            "GROUP BY table_name")).all()
        rows = {t: set(conn.execute(text(f"SELECT DISTINCT ({c})::text FROM qc.{t}")).scalars())
                for t, c in tables}
    return sorted("\n".join(lines).split("\n--\n-- Name: ")), rows


def test_squash_builds_what_the_migrations_it_replaced_built(engine: Engine,
                                                            pg_settings: Settings,
                                                            tmp_path: Path) -> None:
    """A database migrated with the files before the squash has the qc schema and rows of
    one migrated today; migrating it with today's files records the squash, no error."""
    fresh = _state(pg_settings, engine)
    assert any("FUNCTION qc.viewer_refresh_cells()" in entry for entry in fresh[0])
    with fresh_database(pg_settings, template="template0") as url:
        old = create_engine(url)
        try:
            apply_migrations(old, _files_before_squash(tmp_path / "sql"))
            assert _state(pg_settings, old) == fresh
            migrated = CliRunner().invoke(main, ["db", "migrate"], env={
                "MUSEDC_DATABASE_URL": url, "MUSEDC_HOME": str(tmp_path / "home")})
            assert migrated.exit_code == 0, migrated.output
            assert migrated.output.splitlines() == [
                "recorded 038_viewer.sql (it squashes 004 030 031 035 036 037, applied here "
                "before)"]
            assert pending_migrations(old) == []
            assert {4, 30, 31, 35, 36, 37, 38} <= {v for v, _, _ in applied_versions(old)}
            assert _state(pg_settings, old) == fresh
        finally:
            old.dispose()
