"""qc.may_see: the privilege rule for proprietary data, on real rows."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from qcservice.ingest.runner import ingest_paths


@pytest.fixture
def cube_id(engine: Engine, minicube: Path, tmp_path: Path) -> int:
    shutil.copy(minicube, tmp_path / "cube.fits")
    ingest_paths(engine, [tmp_path], workers=1, checksum=False)
    with engine.begin() as conn:
        for name, role in [("pi", "reader"), ("colleague", "reader"), ("member", "reader"),
                           ("stranger", "reader"), ("boss", "admin")]:
            conn.execute(text("INSERT INTO qc.users (username, role) VALUES (:n, :r)"),
                         {"n": name, "r": role})
        for user, group in [("pi", "094.A-0859(A)"), ("colleague", "GTO"),
                            ("member", "consortium")]:
            conn.execute(text(
                "INSERT INTO qc.user_groups SELECT u.user_id, g.group_id FROM qc.users u, "
                "qc.groups g WHERE u.username = :u AND g.name = :g"), {"u": user, "g": group})
        # embargoed until far in the future
        conn.execute(text("UPDATE qc.files SET release_date = :d"),
                     {"d": dt.date.today() + dt.timedelta(days=100)})
        return conn.execute(text("SELECT file_id FROM qc.files")).scalar_one()


def _who_sees(engine: Engine, file_id: int) -> set[str]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT username FROM qc.users WHERE qc.may_see(user_id, :f)"),
                            {"f": file_id})
        anonymous = conn.execute(text("SELECT qc.may_see(NULL, :f)"), {"f": file_id}).scalar()
    return set(rows.scalars()) | ({"<anonymous>"} if anonymous else set())


@pytest.mark.parametrize("privilege, expected", [
    (1, {"pi", "boss"}),
    (2, {"pi", "colleague", "boss"}),
    (3, {"pi", "colleague", "member", "boss"}),
])
def test_privilege_levels(engine: Engine, cube_id: int, privilege: int,
                          expected: set[str]) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE qc.files SET privilege = :p"), {"p": privilege})
    assert _who_sees(engine, cube_id) == expected


def test_released_data_is_public(engine: Engine, cube_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE qc.files SET release_date = current_date"))
    assert "<anonymous>" in _who_sees(engine, cube_id)
    assert "stranger" in _who_sees(engine, cube_id)


def test_inactive_member_loses_access(engine: Engine, cube_id: int) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE qc.users SET active = false WHERE username = 'pi'"))
    assert "pi" not in _who_sees(engine, cube_id)
