"""Every page of the viewer renders with real data, for a logged-in user."""

from __future__ import annotations

import re

from sqlalchemy import text
from viewer_support import login


def test_login_then_summary(app, catalogue):
    client = app.test_client()
    resp = login(client, "alice")
    assert resp.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "Connected as" in page and "alice" in page
    assert "2024-03-09" in page and "ESO Climate" in page
    # 3 raw biases, 1 valid (no IFU invalid), 1 invalid (3 IFUs invalid), 1 not assessed
    cell = re.search(r'night/2024-03-09/bias_raw">3</a> <b class="valid">✓1</b> '
                     r'<b class="invalid">✗1</b>', page)
    assert cell, page
    # master biases: 2 Pass, 1 Fail
    assert re.search(r'bias_red">3</a> <b class="valid">✓2</b> <b class="invalid">✗1',
                     page)


def test_wrong_password_is_refused(app, catalogue):
    client = app.test_client()
    resp = login(client, "alice", "wrong password")
    assert resp.status_code == 401
    assert client.get("/").status_code == 302


def test_date_range_filters_the_summary(app, catalogue):
    client = app.test_client()
    login(client, "alice")
    assert "2024-03-09" not in client.get("/?start=2024-03-10").get_data(as_text=True)
    assert "2024-03-09" in client.get("/?start=2024-03-01&end=2024-03-09").get_data(
        as_text=True)


def test_mode_selection_filters(app, catalogue):
    client = app.test_client()
    login(client, "alice")
    page = client.get("/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    resp = client.post("/select", data={"csrf_token": token, "project": "GTO",
                                        "mode": "NFM-AO-N", "next": "/"})
    assert resp.status_code == 302
    page = client.get("/").get_data(as_text=True)
    assert "No nights you may see" in page
    client.post("/select", data={"csrf_token": token, "project": "GTO", "mode": ""})
    assert "bias_raw" in client.get("/").get_data(as_text=True)


def test_night_list_and_detail(app, catalogue):
    client = app.test_client()
    login(client, "alice")
    page = client.get("/night/2024-03-09/bias_raw").get_data(as_text=True)
    assert "MUSE.BIAS0.fits" in page and "3 of 24 flagged" in page
    page = client.get(f"/file/{catalogue['bias0']}").get_data(as_text=True)
    assert "3 of 24 flagged, 3 of 24 invalid" in page
    assert page.count('class="cell') == 48
    assert "BAD_RON" in page and "HIGH_DARK" in page and "Show median values" in page
    assert "bias.ron" in page


def test_plot_data(app, catalogue):
    client = app.test_client()
    login(client, "alice")
    data = client.get(f"/api/file/{catalogue['bias0']}/ifu-metrics").get_json()
    assert len(data["bias.ron"]["values"]) == 24
    trend = client.get(f"/api/file/{catalogue['bias0']}/trend?metric=bias.ron&ifu=3").get_json()
    assert trend["series"]["WFM-NOAO-N"]["x"] == ["2024-03-09"]
    assert trend["series"]["WFM-NOAO-N"]["y"] == [1.03]
    assert trend["thresholds"][0]["error_high"] == 1.3


def test_master_calibration_view(app, catalogue):
    client = app.test_client()
    login(client, "alice")
    page = client.get("/night/2024-03-09/calib/MASTER_BIAS").get_data(as_text=True)
    assert "QC BIAS MASTERi RON" in page
    assert page.count("MASTER_BIAS-0") >= 3 and "2.61" in page


def test_cube_tabs(app, catalogue):
    client = app.test_client()
    login(client, "alice")
    cube = catalogue["cube"]
    assert client.get(f"/file/{cube}").status_code == 302
    general = client.get(f"/cube/{cube}").get_data(as_text=True)
    assert f"/image/{catalogue['image']}" in general
    psf = client.get(f"/cube/{cube}?tab=psf").get_data(as_text=True)
    assert "psf.fwhm" in psf
    assert client.get(f"/cube/{cube}?tab=sky").status_code == 200
    image = client.get(f"/image/{catalogue['image']}")
    assert image.status_code == 200 and image.data.startswith(b"\x89PNG")


def test_other_pages(app, catalogue):
    client = app.test_client()
    login(client, "alice")
    assert "QC of 2024-03-09" in client.get("/jobs").get_data(as_text=True)
    assert "http://127.0.0.1:8090/tap" in client.get("/links").get_data(as_text=True)
    assert "MUSE.BIAS0.fits" in client.get("/qa").get_data(as_text=True)
    assert client.get("/contact").status_code == 200
    js = client.get("/vendor/plotly.min.js")
    assert js.status_code == 200 and len(js.data) > 1_000_000


def test_a_failed_run_links_to_its_failures(app, engine, catalogue):
    with engine.begin() as conn:
        run = conn.execute(text("INSERT INTO qc.job_runs (kind, status, n_failed) "
                                "VALUES ('qc', 'finished', 2) RETURNING run_id")).scalar()
        for fid, error in ((catalogue["bias2"], "bias2: ValueError: CHAN07 truncated"),
                           (catalogue["science"], "hidden: secret reason")):
            conn.execute(text(
                "INSERT INTO qc.qc_done (file_id, task, status, error, file_updated_at, "
                "code_version, run_id) VALUES (:f, 'raw', 'failed', :e, now(), 'x', :r)"),
                {"f": fid, "e": error, "r": run})
        conn.execute(text("INSERT INTO qc.ingest_failures (path, reason, run_id) "
                          "VALUES ('/data/bad.fits', 'DATE-OBS is missing', :r)"), {"r": run})
    client = app.test_client()
    login(client, "alice")
    assert f'href="/jobs/{run}" class="error">✗ 2</a>' in client.get("/jobs").get_data(
        as_text=True)
    page = client.get(f"/jobs/{run}").get_data(as_text=True)
    assert "CHAN07 truncated" in page and "MUSE.BIAS2.fits" in page
    assert "DATE-OBS is missing" in page and "secret reason" not in page
    assert client.get("/jobs/999999").status_code == 404


def test_storage_follows_the_mode_filter(app, engine, catalogue):
    from viewer_support import add_file

    with engine.begin() as conn:
        add_file(conn, "MUSE.NFM.BIAS.fits", "raw", dpr_catg="CALIB", dpr_type="BIAS",
                 ins_mode="NFM-AO-N")
    client = app.test_client()
    login(client, "alice")

    def total() -> tuple[int, str]:
        page = client.get("/storage").get_data(as_text=True)
        files = re.search(r'id="storage-total" data-bytes="\d+" data-files="(\d+)"', page)
        return int(files.group(1)), re.search(r"<h1>(.*?)</h1>", page).group(1)

    every, heading = total()
    assert "every mode" in heading
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/").get_data(as_text=True)).group(1)
    for mode, expected in (("NFM-AO-N", 1), ("WFM-NOAO-N", every - 1)):
        client.post("/select", data={"csrf_token": token, "project": "GTO", "mode": mode})
        files, heading = total()
        assert (files, f"mode {mode}" in heading) == (expected, True), (mode, heading)


def test_reference_name_is_the_archive_name(app, engine, catalogue):
    """REFERENCE_NAME of the prototype: the name ESO's archive knows the file by."""
    arcfile = "MUSE.2024-03-09T20:00:00.000.fits"
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO qc.hdus (file_id, hdu_index, header) "
                          "VALUES (:f, 0, CAST(:h AS jsonb))"),
                     {"f": catalogue["bias0"], "h": f'{{"ARCFILE": "{arcfile}"}}'})
    client = app.test_client()
    login(client, "alice")
    page = client.get(f"/file/{catalogue['bias0']}").get_data(as_text=True)
    assert f'<td colspan="3" id="reference-name">{arcfile}</td>' in page
    cube = client.get(f"/cube/{catalogue['cube']}").get_data(as_text=True)
    assert '<td colspan="3" id="reference-name">–</td>' in cube
