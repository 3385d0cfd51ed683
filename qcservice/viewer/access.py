"""Who may see what: every decision goes through ``qc.may_see(user_id, file_id)``.

For one file (a page, an image, a plot) the viewer asks ``qc.may_see`` directly and
answers 404 when the file is missing or hidden, so a stranger cannot tell the two apart.
Lists and plots call ``qc.may_see`` in their SQL, row by row. The nightly summary, which
counts every file of every night, asks it once per visibility class (see ``summary``);
``tests/viewer/test_viewer_security.py`` checks both give the same answer.
"""

from __future__ import annotations

from flask import abort, g

from qcservice.viewer.db import row


def may_see(file_id: int) -> bool:
    """May the logged-in user see ``file_id``? (False when it does not exist.)"""
    found = row("SELECT qc.may_see(:uid, :fid) AS ok", uid=g.user.user_id, fid=file_id)
    return bool(found and found["ok"])


def require_file(file_id: int) -> None:
    """404 unless the logged-in user may see ``file_id``."""
    if not may_see(file_id):
        abort(404)


def scope() -> dict:
    """The query parameters of the user's choice: user, project and mode."""
    project = row("SELECT project_id FROM qc.projects WHERE name = :n", n=g.sess["project"])
    return {"uid": g.user.user_id,
            "project_id": project["project_id"] if project else -1,
            "mode": g.sess["ins_mode"]}
