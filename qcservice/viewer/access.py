"""Who may see what: every decision goes through ``qc.may_see(user_id, file_id)``.

For one file (a page, an image, a plot) the viewer asks ``qc.may_see`` directly and
answers 404 when the file is missing or hidden, so a stranger cannot tell the two apart.
Short lists call ``qc.may_see`` in their SQL, row by row; the trend asks it once per
visibility class of the files it reads (``VISIBLE``); the nightly summary and the heat
map, which read counts and cells kept per class, once per class kept (``COUNTED_VISIBLE``);
``tests/viewer/test_viewer_security.py`` checks both give the same answer.
"""

from __future__ import annotations

from flask import abort, g

from qcservice.viewer.db import row

# For a query over many files of one project: ``qc.may_see`` asked once per visibility
# class (owner group, privilege, released or not: all the rule reads of a file, as the
# nightly summary does), on one sample file of the class, instead of once per row. The
# CTE ``pts`` must have the columns ``file_id``, ``og``, ``priv`` and ``released`` that
# CLASS_COLUMNS selects from ``qc.files f``; join ``visible`` USING (og, priv, released).
CLASS_COLUMNS = ("coalesce(f.owner_group_id, 0) AS og, f.privilege AS priv, "
                 "f.release_date <= current_date AS released")
VISIBLE = """visible AS (
    SELECT og, priv, released FROM (
        SELECT og, priv, released, min(file_id) AS sample FROM {cte} GROUP BY 1, 2, 3) k
    WHERE qc.may_see(:uid, sample))"""


# The same for the nightly summary's counts and the heat map's cells, which keep the
# visibility classes of the counted files with one sample file each
# (qc.viewer_count_classes): a handful of qc.may_see calls whatever the range.
COUNTED_VISIBLE = """visible AS (
    SELECT og, priv, released FROM (
        SELECT owner_group_id AS og, privilege AS priv, release_date <= current_date AS released,
               min(sample_file_id) AS sample
        FROM qc.viewer_count_classes WHERE project_id = :project_id GROUP BY 1, 2, 3) k
    WHERE qc.may_see(:uid, sample))"""


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
