"""Make DaCHS honour the data centre's users and groups (qc.users, qc.user_groups).

``musedc users`` keeps the one user database; this copies it into DaCHS's ``dc.users`` and
``dc.groups`` (rows we own are marked by the remark ``musedc``):

- each active user with a password, with its werkzeug scrypt hash copied verbatim (the
  DaCHS server is started through ``vo/dachs/dachs_launch.py``, which verifies such hashes);
- as groups: the user's own name, its qc groups, and the access groups (``acl_*``) of the
  files it may see before their release. A published file is owned by the access group
  of its (owner group, project, privilege); membership is decided by ``qc.may_see``
  itself (owner group, project group from privilege 2, consortium from 3, admins), so
  the viewer and DaCHS cannot disagree on who sees an embargoed file.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

REMARK = "musedc"

# The privilege rule is qc.may_see alone: it depends on the user and the file's (owner
# group, project, privilege) only, so one embargoed file per key decides the key's group.
_ACL_SQL = """
WITH keys AS (
    SELECT DISTINCT ON (owner_group_id, project_id, privilege)
           file_id, owner_group_id, project_id, privilege
    FROM qc.files WHERE release_date > current_date
    ORDER BY owner_group_id, project_id, privilege, file_id
)
SELECT u.username,
       'acl_' || COALESCE(k.owner_group_id, 0) || '_' || k.project_id || '_' || k.privilege
FROM qc.users u CROSS JOIN keys k
WHERE u.active AND u.password_hash IS NOT NULL AND qc.may_see(u.user_id, k.file_id)
"""

# a user's qc groups; an admin is in every group, as qc.may_see and qc.may_see_ancillary
# let admins see everything (embargoed ancillary files are owned by a qc group)
_GROUPS_SQL = """
SELECT u.username, g.name FROM qc.users u
JOIN qc.user_groups ug ON ug.user_id = u.user_id JOIN qc.groups g ON g.group_id = ug.group_id
WHERE u.active AND u.password_hash IS NOT NULL
UNION
SELECT u.username, g.name FROM qc.users u CROSS JOIN qc.groups g
WHERE u.active AND u.password_hash IS NOT NULL AND u.role = 'admin'
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
