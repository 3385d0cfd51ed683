"""People and their groups: ``qc.users``, ``qc.groups``, ``qc.user_groups``.

The database is the one source of who may do what: the QA viewer logs people in against
it, and the VO services copy users and groups from it. Passwords are stored as salted
scrypt hashes (``werkzeug.security``), never in clear.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from sqlalchemy import Connection, text
from werkzeug.security import check_password_hash, generate_password_hash

from qcservice.errors import MusedcError

ROLES = ("reader", "qc_scientist", "admin")
_HASH_METHOD = "scrypt"


@functools.cache
def _dummy_hash() -> str:
    """A real hash to check unknown users against, so timing does not tell whether a user
    exists; made on first use: scrypt costs ~0.1 s, which every musedc command would
    otherwise pay at import."""
    return generate_password_hash("not a password", method=_HASH_METHOD)


class UserError(MusedcError, ValueError):
    """A user or group does not exist, or a request about them makes no sense."""


@dataclass(frozen=True)
class User:
    """A person who may log in, as the viewer sees them."""

    user_id: int
    username: str
    role: str
    active: bool
    groups: tuple[str, ...] = ()

    @property
    def may_validate(self) -> bool:
        """QC scientists and admins may set is_valid and QA states."""
        return self.active and self.role in ("qc_scientist", "admin")


def hash_password(password: str) -> str:
    """A salted scrypt hash of ``password``."""
    if len(password) < 8:
        raise UserError("a password needs at least 8 characters")
    return generate_password_hash(password, method=_HASH_METHOD)


def add_user(conn: Connection, username: str, role: str = "reader",
             password: str | None = None, full_name: str = "") -> int:
    """Create a user (no password: cannot log in until one is set); return its id."""
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    if not username or not username.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise UserError(f"{username!r} is not a user name (letters, digits, . _ -)")
    exists = conn.execute(text("SELECT 1 FROM qc.users WHERE username = :u"),
                          {"u": username}).first()
    if exists:
        raise UserError(f"user {username!r} exists already")
    digest = hash_password(password) if password is not None else None
    return conn.execute(text(
        "INSERT INTO qc.users (username, role, password_hash, full_name) "
        "VALUES (:u, :r, :h, :f) RETURNING user_id"),
        {"u": username, "r": role, "h": digest, "f": full_name}).scalar_one()


def set_password(conn: Connection, username: str, password: str) -> None:
    """Replace ``username``'s password."""
    done = conn.execute(text("UPDATE qc.users SET password_hash = :h WHERE username = :u"),
                        {"u": username, "h": hash_password(password)})
    if done.rowcount == 0:
        raise UserError(f"no user {username!r}")


def set_role(conn: Connection, username: str, role: str) -> None:
    """Change ``username``'s role."""
    if role not in ROLES:
        raise UserError(f"role must be one of {', '.join(ROLES)}")
    done = conn.execute(text("UPDATE qc.users SET role = :r WHERE username = :u"),
                        {"u": username, "r": role})
    if done.rowcount == 0:
        raise UserError(f"no user {username!r}")


def set_active(conn: Connection, username: str, active: bool) -> None:
    """(De)activate ``username``; deactivating also ends their viewer sessions."""
    done = conn.execute(text("UPDATE qc.users SET active = :a WHERE username = :u "
                             "RETURNING user_id"), {"u": username, "a": active}).first()
    if done is None:
        raise UserError(f"no user {username!r}")
    if not active:
        conn.execute(text("DELETE FROM qc.viewer_sessions WHERE user_id = :i"),
                     {"i": done.user_id})


def load_user(conn: Connection, user_id: int) -> User | None:
    """The active user ``user_id`` with their groups, or None."""
    row = conn.execute(text(
        "SELECT u.user_id, u.username, u.role, u.active, "
        "       coalesce(array_agg(g.name ORDER BY g.name) FILTER (WHERE g.name IS NOT NULL),"
        "                '{}') AS groups "
        "FROM qc.users u LEFT JOIN qc.user_groups ug USING (user_id) "
        "LEFT JOIN qc.groups g USING (group_id) "
        "WHERE u.user_id = :id AND u.active GROUP BY u.user_id"), {"id": user_id}).first()
    if row is None:
        return None
    return User(row.user_id, row.username, row.role, row.active, tuple(row.groups))


def authenticate(conn: Connection, username: str, password: str) -> User | None:
    """The user when ``password`` is theirs and they are active, else None."""
    row = conn.execute(text(
        "SELECT user_id, password_hash FROM qc.users WHERE username = :u AND active"),
        {"u": username}).first()
    digest = row.password_hash if row is not None and row.password_hash else _dummy_hash()
    good = check_password_hash(digest, password)
    if row is None or not row.password_hash or not good:
        return None
    return load_user(conn, row.user_id)


def _group_id(conn: Connection, group: str, create: bool) -> int:
    gid = conn.execute(text("SELECT group_id FROM qc.groups WHERE name = :g"),
                       {"g": group}).scalar()
    if gid is None and create:
        gid = conn.execute(text("INSERT INTO qc.groups (name) VALUES (:g) RETURNING group_id"),
                           {"g": group}).scalar_one()
    if gid is None:
        raise UserError(f"no group {group!r}")
    return gid


def _user_id(conn: Connection, username: str) -> int:
    uid = conn.execute(text("SELECT user_id FROM qc.users WHERE username = :u"),
                       {"u": username}).scalar()
    if uid is None:
        raise UserError(f"no user {username!r}")
    return uid


def add_to_group(conn: Connection, username: str, group: str) -> None:
    """Put ``username`` in ``group`` (a programme group is created when missing)."""
    conn.execute(text("INSERT INTO qc.user_groups VALUES (:u, :g) ON CONFLICT DO NOTHING"),
                 {"u": _user_id(conn, username), "g": _group_id(conn, group, create=True)})


def remove_from_group(conn: Connection, username: str, group: str) -> None:
    """Take ``username`` out of ``group``."""
    conn.execute(text("DELETE FROM qc.user_groups WHERE user_id = :u AND group_id = :g"),
                 {"u": _user_id(conn, username), "g": _group_id(conn, group, create=False)})


def ensure_user(conn: Connection, username: str, role: str, password: str,
                groups: tuple[str, ...] = ()) -> None:
    """Create or update ``username`` with this role, password and groups (idempotent)."""
    exists = conn.execute(text("SELECT 1 FROM qc.users WHERE username = :u"),
                          {"u": username}).first()
    if exists:
        set_role(conn, username, role)
        set_password(conn, username, password)
        conn.execute(text("UPDATE qc.users SET active = true WHERE username = :u"),
                     {"u": username})
    else:
        add_user(conn, username, role, password)
    for group in groups:
        add_to_group(conn, username, group)


def list_users(conn: Connection) -> list[dict]:
    """Every user with role, state and groups, by name."""
    rows = conn.execute(text(
        "SELECT u.username, u.role, u.active, u.password_hash IS NOT NULL AS has_password, "
        "       coalesce(string_agg(g.name, ',' ORDER BY g.name), '') AS groups "
        "FROM qc.users u LEFT JOIN qc.user_groups USING (user_id) "
        "LEFT JOIN qc.groups g USING (group_id) GROUP BY u.user_id ORDER BY u.username"))
    return [dict(r._mapping) for r in rows]


def list_groups(conn: Connection) -> list[dict]:
    """Every group with its kind and member count."""
    rows = conn.execute(text(
        "SELECT g.name, g.kind, count(ug.user_id) AS members FROM qc.groups g "
        "LEFT JOIN qc.user_groups ug USING (group_id) GROUP BY g.group_id ORDER BY g.name"))
    return [dict(r._mapping) for r in rows]
