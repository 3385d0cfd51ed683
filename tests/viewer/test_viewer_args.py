"""The ``ifu`` argument, checked in one place for every page that takes it: a value
outside 1..N_IFU is a 400 naming the range, and changes nothing."""

from __future__ import annotations

from sqlalchemy import text
from viewer_support import csrf_from, login

from qcservice.vocabulary import N_IFU


def test_ifu_out_of_range_is_400_on_every_path(app, engine, catalogue):
    client = app.test_client()
    login(client, "alice")
    fid = catalogue["bias0"]
    token = csrf_from(client.get("/").get_data(as_text=True))
    for bad in ("0", str(N_IFU + 1), "x", "", "-1"):
        resp = client.post(f"/file/{fid}/ifu", data={"csrf_token": token, "ifu": bad,
                                                       "is_valid": "1", "action": "set",
                                                       "comment": "ok"})
        assert resp.status_code == 400, bad
        assert f"ifu must be 1..{N_IFU}" in resp.get_data(as_text=True)
        for url in (f"/api/file/{fid}/trend?metric=bias.ron_e&ifu={bad}",
                    f"/api/trend?metric=bias.ron_e&ifu={bad}"):
            assert client.get(url).status_code == (200 if bad == "" else 400), (url, bad)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM qc.audit_log WHERE file_id = :f"),
                            {"f": fid}).scalar_one() == 0
    assert client.get(f"/api/file/{fid}/trend?metric=bias.ron_e&ifu={N_IFU}"
                      ).status_code == 200
