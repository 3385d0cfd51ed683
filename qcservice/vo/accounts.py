"""Make DaCHS honour the data centre's users and groups (qc.users, qc.user_groups).

``musedc users`` keeps the one user database; this copies it into DaCHS's ``dc.users`` and
``dc.groups`` (rows we own are marked by the remark ``musedc``):

- each active user with a password, with its werkzeug scrypt hash copied verbatim (the
  DaCHS server is started through ``vo/dachs_launch.py``, which verifies such hashes);
- as groups: the user's own name, its qc groups, and the access groups (``acl_*``) of the
  files it may see before their release. A published file is owned by the access group
  of its (owner group, project, privilege); membership follows the privilege rule of
  ``qc.may_see``: owner group, project group from privilege 2, consortium from 3; admins
  are members of every access group.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

REMARK = "musedc"

_ACL_SQL = """
WITH keys AS (
    SELECT DISTINCT f.owner_group_id, f.project_id, f.privilege FROM qc.files f
)
SELECT u.username,
       'acl_' || COALESCE(k.owner_group_id, 0) || '_' || k.project_id || '_' || k.privilege
FROM qc.users u CROSS JOIN keys k
WHERE u.active AND u.password_hash IS NOT NULL AND (
    u.role = 'admin' OR EXISTS (
        SELECT 1 FROM qc.user_groups ug
        LEFT JOIN qc.projects p ON p.project_id = k.project_id
        LEFT JOIN qc.groups c ON c.name = 'consortium'
        WHERE ug.user_id = u.user_id
          AND (ug.group_id = k.owner_group_id
               OR (k.privilege >= 2 AND ug.group_id = p.group_id)
               OR (k.privilege >= 3 AND ug.group_id = c.group_id))))
"""

_GROUPS_SQL = """
SELECT u.username, g.name FROM qc.users u
JOIN qc.user_groups ug ON ug.user_id = u.user_id JOIN qc.groups g ON g.group_id = ug.group_id
WHERE u.active AND u.password_hash IS NOT NULL
"""


def sync_users(engine: Engine) -> tuple[int, int]:
    """Replace DaCHS's musedc users and groups; return (users, memberships)."""
    with engine.begin() as conn:
        users = conn.execute(text(
            "SELECT username, password_hash FROM qc.users "
            "WHERE active AND password_hash IS NOT NULL ORDER BY username")).all()
        members = {(u, u) for u, _ in users}
        members |= {tuple(r) for r in conn.execute(text(_GROUPS_SQL)).all()}
        members |= {tuple(r) for r in conn.execute(text(_ACL_SQL)).all()}
        conn.execute(text(
            "DELETE FROM dc.groups WHERE username IN "
            "(SELECT username FROM dc.users WHERE remarks = :r)"), {"r": REMARK})
        conn.execute(text("DELETE FROM dc.users WHERE remarks = :r"), {"r": REMARK})
        taken = {r[0] for r in conn.execute(text("SELECT username FROM dc.users")).all()}
        kept = [(u, h) for u, h in users if u not in taken]
        for username, digest in kept:
            conn.execute(text("INSERT INTO dc.users (username, password, remarks) "
                              "VALUES (:u, :p, :r)"), {"u": username, "p": digest, "r": REMARK})
        names = {u for u, _ in kept}
        rows = sorted(m for m in members if m[0] in names)
        for username, group in rows:
            conn.execute(text("INSERT INTO dc.groups (username, groupname) VALUES (:u, :g)"),
                         {"u": username, "g": group})
    return len(kept), len(rows)
