"""The heat map's kept cells (sql/038_viewer.sql) say what the files say, for every reader: computed
again here file by file with ``qc.may_see``, before and after changes made outside a run
(a validation of an IFU, a metric rewritten, an embargoed frame's metrics added)."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from viewer_history import NOISY, add_raw_level, populate_history
from viewer_support import login

from qcservice.viewer.categories import KEY_METRICS
from qcservice.viewer.heatmap import _CELLS

# the reference: every file asked on its own, nothing kept
_DIRECT = """
WITH seen AS (
    SELECT x.file_id, x.night FROM (
        SELECT file_id, night FROM qc.raw_frames WHERE dpr_type = :type
        UNION ALL SELECT file_id, night FROM qc.products WHERE pro_catg = :type) x
    JOIN qc.files f USING (file_id)
    WHERE f.project_id = :project_id AND qc.may_see(:uid, x.file_id)
), vals AS (
    SELECT s.night, m.ifu, min(s.file_id) AS file_id,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY m.value) AS value
    FROM seen s JOIN qc.metrics m USING (file_id)
    WHERE m.name = :metric AND m.ifu IS NOT NULL AND m.value IS NOT NULL
    GROUP BY s.night, m.ifu
), states AS (
    SELECT DISTINCT ON (s.night, st.ifu) s.night, st.ifu, st.file_id, st.flags,
           CASE WHEN NOT st.is_valid THEN 2 WHEN cardinality(st.flags) > 0 THEN 1
                ELSE 0 END AS worst
    FROM seen s JOIN qc.ifu_status st USING (file_id)
    ORDER BY s.night, st.ifu, 5 DESC, st.file_id
)
SELECT coalesce(v.night, x.night)::text, coalesce(v.ifu, x.ifu), v.value, x.worst,
       coalesce(x.file_id, v.file_id), array_to_string(x.flags, ' ')
FROM vals v FULL JOIN states x ON x.night = v.night AND x.ifu = v.ifu"""


@pytest.fixture(name="history")
def history_fixture(engine, catalogue):
    with engine.begin() as conn:
        return populate_history(conn, engine)


def _cells_agree(engine) -> int:
    """Compare kept and direct cells for every reader and key metric; count the cells."""
    n = 0
    with engine.begin() as conn:
        conn.execute(text("SELECT qc.viewer_refresh_cells()"))   # as the page does
        pid = conn.execute(text("SELECT project_id FROM qc.projects WHERE name = 'GTO'")
                           ).scalar_one()
        for user in ("alice", "teamer"):
            uid = conn.execute(text("SELECT user_id FROM qc.users WHERE username = :u"),
                               {"u": user}).scalar_one()
            for ftype, metric in KEY_METRICS.values():
                params = {"type": ftype, "metric": metric, "start": "2000-01-01",
                          "end": "2100-01-01", "uid": uid, "project_id": pid, "mode": None}
                kept = sorted(tuple(r) for r in conn.execute(text(_CELLS), params))
                direct = sorted(tuple(r) for r in conn.execute(text(_DIRECT), params))
                assert kept == direct, (user, ftype, metric)
                n += len(kept)
    return n


def test_kept_cells_equal_the_files_after_changes_outside_a_run(app, engine, history,
                                                                 catalogue):
    assert _cells_agree(engine) > 24 * 8
    with engine.begin() as conn:   # a metric changes the cells, not the summary's counts
        conn.execute(text("INSERT INTO qc.metrics (file_id, ifu, name, value, source) "
                          "VALUES (:f, 5, 'raw.level', 7.0, 'computed')"),
                     {"f": history[0]["bias"][0]})
        assert conn.execute(text("SELECT count(*) FROM qc.viewer_dirty_nights")
                            ).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM qc.viewer_dirty_cells")
                            ).scalar_one() == 1
    hidden = catalogue["science"]
    bias = history[NOISY[1]]["bias"][0]
    other_night = history[0]["bias"][0]    # its metric alone changes
    with engine.begin() as conn:
        add_raw_level(conn, hidden)
        conn.execute(text("UPDATE qc.metrics SET value = 99.0 WHERE file_id = :f "
                          "AND name = 'bias.ron_e' AND ifu = 3"), {"f": other_night})
        conn.execute(text("UPDATE qc.ifu_status SET is_valid = false, decided_by = 'qc' "
                          "WHERE file_id = :f AND ifu = 3"), {"f": bias})
    _cells_agree(engine)
    client = app.test_client()
    login(client, "alice")
    page = client.get("/heatmap?cat=bias_raw&start=2000-01-01").get_data(as_text=True)
    assert f'href="/file/{bias}" title="IFU 3: invalid' in page
