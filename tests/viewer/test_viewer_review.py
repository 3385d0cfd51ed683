"""The review: evidence with every flag, the queue, bulk decisions, hand back, trends, heat
map, over a catalogue with history whose flags QC's own code made."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from viewer_history import (
    BAD_SKY_NIGHT,
    FIRST,
    NO_STARS_NIGHT,
    NOISY,
    add_raw_level,
    populate_history,
)
from viewer_support import csrf_from, login

from qcservice.qc.thresholds import Threshold, ThresholdSet
from qcservice.viewer.trends import Levels


@pytest.fixture(name="history")
def history_fixture(engine, catalogue):
    with engine.begin() as conn:
        return populate_history(conn, engine)


@pytest.fixture(name="client")
def client_fixture(app, history):
    client = app.test_client()
    login(client, "alice")
    return client


def _post(client, url, data):
    token = csrf_from(client.get("/").get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **data})


def test_failed_cube_says_why(client, history):
    cube = history[BAD_SKY_NIGHT]["cube"]
    resp = client.get(f"/cube/{cube}")        # opens on the tab of the flag: sky
    page = resp.get_data(as_text=True)
    assert 'class="active" id="tab-sky"' in page
    why = page[page.index('id="evidence"'):page.index("</table>", page.index('id="evidence"'))]
    assert "BAD_SKY_SUB" in why and "sky.residual_ratio" in why and "14.5" in why
    assert "error &gt; 3" in why and "✗ error" in why
    assert "2014-01-01.toml, valid from 2014-01-01" in why
    assert 'id="product-flags">BAD_SKY_SUB' in page
    no_stars = client.get(f"/cube/{history[NO_STARS_NIGHT]['cube']}").get_data(as_text=True)
    assert "NO_PSF_STARS" in no_stars and "psf.nstars" in no_stars and "warn &lt; 0.5" in no_stars


def test_frame_page_opens_on_the_flagging_metric(client, history):
    bias = history[NOISY[1]]["bias"][0]
    page = client.get(f"/file/{bias}").get_data(as_text=True)
    assert '<option value="bias.ron_e" selected>' in page
    rows_ = re.findall(r"<tr class=\"row-invalid\"><td>BAD_RON</td>.*?</tr>", page, re.S)
    assert len(rows_) == 4 and all("<td>17</td>" in r for r in rows_)   # 4 quadrants
    assert "BAD_RON: bias.ron_e [1] = 8.43 e-" in page       # the grid cell's evidence
    quiet = client.get(f"/file/{history[0]['bias'][0]}").get_data(as_text=True)
    assert 'id="no-flags"' in quiet


def test_queue_newest_first_with_reasons_and_mode_filter(client, history):
    page = client.get("/qa").get_data(as_text=True)
    nights = re.findall(r'<tr data-night="([\d-]+)">', page)
    assert nights == sorted(nights, reverse=True) and nights
    for k in (BAD_SKY_NIGHT, NO_STARS_NIGHT):
        assert f"DATACUBE_FINAL_{FIRST + dt.timedelta(days=k)}.fits" in page
    assert "BAD_SKY_SUB (whole product)" in page and "BAD_RON (IFU 17)" in page
    quiet_cube = f"DATACUBE_FINAL_{FIRST}.fits"
    assert quiet_cube not in page                          # passed: not in the queue
    _post(client, "/select", {"project": "GTO", "mode": "NFM-AO-N"})
    assert "DATACUBE_FINAL_" not in client.get("/qa").get_data(as_text=True)


def test_bulk_decision_on_five_biases_leaves_the_queue(client, engine, history):
    biases = history[NOISY[1]]["bias"]
    night = (FIRST + dt.timedelta(days=NOISY[1])).isoformat()
    assert client.get("/qa").get_data(as_text=True).count(f">MUSE.{night}T21:0") == 5
    resp = _post(client, "/qa/decide", {"file_id": [str(b) for b in biases], "state": "Usable",
                                        "ifus": "confirm", "comment": "IFU 17 noisy, rest ok"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/qa")
    queue = client.get("/qa").get_data(as_text=True)
    assert f"MUSE.{night}T21:0" not in queue[:queue.index("Latest decisions")]
    everything = client.get("/qa?view=all").get_data(as_text=True)
    everything = everything[:everything.index("Latest decisions")]
    assert everything.count(f">MUSE.{night}T21:0") == 5 and "(by alice)" in everything
    with engine.connect() as conn:
        qa = conn.execute(text("SELECT DISTINCT state, decided_by FROM qc.qa "
                               "WHERE file_id = ANY(:ids)"), {"ids": biases}).all()
        ifus = conn.execute(text("SELECT count(*), count(*) FILTER (WHERE NOT is_valid) "
                                 "FROM qc.ifu_status WHERE file_id = ANY(:ids) "
                                 "AND decided_by = 'alice'"), {"ids": biases}).one()
        audit = conn.execute(text("SELECT count(*) FROM qc.audit_log WHERE actor = 'alice' "
                                  "AND comment = 'IFU 17 noisy, rest ok'")).scalar()
    assert qa == [("Usable", "alice")]
    assert tuple(ifus) == (5 * 24, 5)                # QC's verdict confirmed: IFU 17 invalid
    assert audit == 5 + 5 * 24
    decisions = queue[queue.index("Latest decisions"):]
    assert decisions.count("IFU 17 noisy, rest ok") == 5 * 3     # QA, valid IFUs, invalid IFU
    assert "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18" in decisions


def test_bulk_refuses_a_hidden_file_whole(client, engine, history, catalogue):
    mine = history[0]["cube"]
    resp = _post(client, "/qa/decide", {"file_id": [str(mine), str(catalogue["science"])],
                                        "state": "Fail", "comment": "x"})
    assert resp.status_code == 404
    with engine.connect() as conn:
        assert conn.execute(text("SELECT state FROM qc.qa WHERE file_id = :f"),
                            {"f": mine}).scalar() == "Pass"


def test_hand_back_restores_qc_verdict_and_keeps_the_audit(client, engine, history):
    bias = history[NOISY[1]]["bias"][0]
    _post(client, f"/file/{bias}/ifu", {"ifu": "17", "is_valid": "1", "action": "set",
                                         "comment": "looks fine to me"})
    resp = _post(client, f"/file/{bias}/ifu", {"ifu": "17", "action": "auto",
                                                "comment": "QC was right",
                                                "next": f"/file/{bias}#validate"})
    assert resp.headers["Location"].endswith(f"/file/{bias}#validate")   # keeps the place
    with engine.connect() as conn:
        st_ = conn.execute(text("SELECT is_valid, decided_by, comment FROM qc.ifu_status "
                                "WHERE file_id = :f AND ifu = 17"), {"f": bias}).one()
        log = conn.execute(text("SELECT action, comment, new_value FROM qc.audit_log "
                                "WHERE file_id = :f AND actor = 'alice' ORDER BY entry_id"),
                           {"f": bias}).all()
    assert tuple(st_) == (False, "auto", "")
    assert [(a, c) for a, c, _ in log] == [("set_ifu_valid", "looks fine to me"),
                                           ("ifu_to_auto", "QC was right")]
    assert log[1][2]["is_valid"] is False


def test_queue_next_and_previous(client, history):
    page = client.get("/qa").get_data(as_text=True)
    ids = [int(i) for i in re.findall(r'name="file_id" value="(\d+)"', page)]
    middle = client.get(f"/file/{ids[1]}", follow_redirects=True).get_data(as_text=True)
    assert f'href="/qa/step/{ids[1]}/next" id="queue-next"' in middle
    assert client.get(f"/qa/step/{ids[1]}/previous").headers["Location"] == f"/file/{ids[0]}"
    assert client.get(f"/qa/step/{ids[1]}/next").headers["Location"] == f"/file/{ids[2]}"
    assert client.get(f"/qa/step/{ids[0]}/previous").headers["Location"] == "/qa"
    quiet = history[0]["cube"]            # passed, not in the queue: it still has a place
    assert client.get(f"/qa/step/{quiet}/previous").headers["Location"] == f"/file/{ids[-1]}"


def test_trend_api_splits_ifus_colours_limits_and_exports(client, history):
    data = client.get("/api/trend?metric=bias.ron_e&type=BIAS&dimm=1&end=2024-01-31"
                      ).get_json()
    assert len(data["series"]) == 24 and data["unit"] == "e-"
    noisy = data["series"][f"IFU {NOISY[0]}"]
    bad_nights = {x for x, lvl in zip(noisy["x"], noisy["level"], strict=True) if lvl == "error"}
    assert bad_nights == {(FIRST + dt.timedelta(days=NOISY[1])).isoformat()}
    assert not any(data["series"]["IFU 16"]["level"])
    assert len(noisy["y"]) == 8 * 5 * 4                       # nights x biases x quadrants
    limit = next(t for t in data["limits"] if t["flag"] == "BAD_RON")
    assert (limit["warn_high"], limit["error_high"], limit["valid_from"], limit["source"]) == (
        4.0, 5.0, "2014-01-01", "2014-01-01.toml")
    assert len(data["dimm"]["x"]) == 8
    csv_text = client.get("/api/trend?metric=bias.ron_e&type=BIAS&format=csv"
                          ).get_data(as_text=True)
    lines = csv_text.strip().splitlines()
    assert lines[0].startswith("series,night,file_id") and len(lines) == 1 + 24 * 8 * 5 * 4
    assert sum(1 for line in lines if line.endswith(",error")) == 5 * 4
    one = client.get(f"/api/trend?metric=bias.ron_e&ifu={NOISY[0]}&split=subunit").get_json()
    assert sorted(one["series"]) == ["1", "2", "3", "4"]
    assert client.get("/api/trend?metric=bias.ron_e&ifu=25").status_code == 400
    assert client.get("/trends?metric=psf.fwhm").status_code == 200


def test_heatmap_shows_the_bad_ifu(client, history):
    page = client.get(f"/heatmap?cat=bias_raw&start={FIRST}").get_data(as_text=True)
    night = (FIRST + dt.timedelta(days=NOISY[1])).isoformat()
    row = page[page.index(f"<tr><th>{night}</th>"):]
    row = row[:row.index("</tr>")]
    cells = re.findall(r'<td class="cell (\w+)">(.*?)</td>', row)
    assert len(cells) == 24
    assert cells[NOISY[0] - 1][0] == "bad" and "✗" in cells[NOISY[0] - 1][1]
    assert "8.54" in cells[NOISY[0] - 1][1]                       # the value, in text
    assert {c[0] for i, c in enumerate(cells) if i != NOISY[0] - 1} == {"ok"}
    assert page.count("<tr><th>2024-01-") == 8
    ifu = client.get(f"/ifu/{NOISY[0]}").get_data(as_text=True)
    assert f"MUSE.{night}T21:00.BIAS.fits" in ifu and "BAD_RON" in ifu


@settings(max_examples=200, deadline=None)
@given(day=st.integers(0, 4000), value=st.floats(-10, 10, allow_nan=False),
       ifu=st.sampled_from([None, 3, 17]), mode=st.sampled_from([None, "WFM-NOAO-N"]))
def test_trend_levels_follow_qc_rule(day, value, ifu, mode):
    """The cached levels of the trend equal QC's rule applied point by point."""
    rows_ = [Threshold("m", "F", dt.date(2014, 1, 1), warn_high=4.0, error_high=5.0),
             Threshold("m", "F", dt.date(2016, 6, 1), warn_high=3.0, error_high=4.5),
             Threshold("m", "F", dt.date(2017, 1, 1), ifu=17, warn_low=-1.0),
             Threshold("m", "G", dt.date(2015, 1, 1), ins_mode="WFM-NOAO-N", error_low=-2.0)]
    night = dt.date(2013, 6, 1) + dt.timedelta(days=day)
    direct = {t.verdict(value) for t in ThresholdSet(rows_).applicable("m", night, mode, ifu,
                                                                       None)}
    expected = "error" if "error" in direct else ("warning" if "warning" in direct else None)
    assert Levels(rows_).level("m", night, mode, ifu, None, value) == expected


def test_trend_heatmap_and_queue_keep_proprietary_data_hidden(app, engine, history,
                                                               catalogue):
    """The embargoed science frame of PROG-A: its points, cells and queue entry reach the
    programme's member, not another consortium member."""
    hidden = catalogue["science"]
    with engine.begin() as conn:
        add_raw_level(conn, hidden)
        conn.execute(text("INSERT INTO qc.qa (file_id, auto_state, state) "
                          "VALUES (:f, 'Check', 'Check')"), {"f": hidden})
    for user, sees in (("alice", False), ("teamer", True)):
        client = app.test_client()
        login(client, user)
        data = client.get("/api/trend?metric=raw.level").get_json()
        points = [f for s in data["series"].values() for f in s["file_id"]]
        assert (hidden in points) is sees and (len(points) == 24 if sees else not points)
        heat = client.get("/heatmap?cat=science_raw&start=2024-01-01&end=2024-03-31")
        assert ("1.23e+03" in heat.get_data(as_text=True)) is sees, user
        queue = client.get("/qa").get_data(as_text=True)
        assert ("MUSE.OBJ.fits" in queue) is sees, user
        assert (client.get(f"/qa/step/{hidden}/next").status_code != 404) is sees
