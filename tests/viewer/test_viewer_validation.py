"""Validation by a QC scientist: is_valid per IFU, QA state, the audit log, hand back."""

from __future__ import annotations

from sqlalchemy import text
from viewer_support import csrf_from, login


def _post(client, url, **form):
    token = csrf_from(client.get("/").get_data(as_text=True))
    return client.post(url, data={"csrf_token": token, **form})


def test_set_ifu_valid_and_audit(app, engine, catalogue):
    client = app.test_client()
    login(client, "alice")
    fid = catalogue["bias0"]
    resp = _post(client, f"/file/{fid}/ifu", ifu="3", is_valid="1", action="set",
                 comment="RON fine on inspection")
    assert resp.status_code == 302
    with engine.connect() as conn:
        st = conn.execute(text("SELECT is_valid, decided_by, comment FROM qc.ifu_status "
                               "WHERE file_id = :f AND ifu = 3"), {"f": fid}).one()
        log = conn.execute(text("SELECT actor, action, ifu, old_value, new_value, comment "
                                "FROM qc.audit_log WHERE file_id = :f"), {"f": fid}).one()
    assert tuple(st) == (True, "alice", "RON fine on inspection")
    assert log.actor == "alice" and log.action == "set_ifu_valid" and log.ifu == 3
    assert log.old_value["is_valid"] is False and log.new_value["is_valid"] is True
    page = client.get(f"/file/{fid}").get_data(as_text=True)
    assert "RON fine on inspection" in page and "2 of 24 invalid" in page


def test_hand_ifu_back_to_qc(app, engine, catalogue):
    client = app.test_client()
    login(client, "alice")
    fid = catalogue["bias0"]
    _post(client, f"/file/{fid}/ifu", ifu="7", is_valid="1", action="set", comment="ok")
    _post(client, f"/file/{fid}/ifu", ifu="7", action="auto", comment="let QC decide")
    with engine.connect() as conn:
        who = conn.execute(text("SELECT decided_by FROM qc.ifu_status WHERE file_id = :f "
                                "AND ifu = 7"), {"f": fid}).scalar_one()
        actions = conn.execute(text("SELECT action FROM qc.audit_log WHERE file_id = :f "
                                    "ORDER BY entry_id"), {"f": fid}).scalars().all()
    assert who == "auto" and actions == ["set_ifu_valid", "ifu_to_auto"]


def test_set_qa_state_and_back(app, engine, catalogue):
    client = app.test_client()
    login(client, "alice")
    fid = catalogue["master2"]
    assert _post(client, f"/file/{fid}/qa", state="Usable", action="set",
                 comment="within spec").status_code == 302
    with engine.connect() as conn:
        qa = conn.execute(text("SELECT auto_state, state, decided_by FROM qc.qa "
                               "WHERE file_id = :f"), {"f": fid}).one()
    assert tuple(qa) == ("Fail", "Usable", "alice")
    _post(client, f"/file/{fid}/qa", action="auto", comment="back to QC")
    with engine.connect() as conn:
        qa = conn.execute(text("SELECT state, decided_by FROM qc.qa WHERE file_id = :f"),
                          {"f": fid}).one()
    assert tuple(qa) == ("Fail", "auto")


def test_decision_needs_a_comment_and_a_known_state(app, catalogue):
    client = app.test_client()
    login(client, "alice")
    fid = catalogue["bias0"]
    assert _post(client, f"/file/{fid}/ifu", ifu="3", is_valid="1",
                 comment=" ").status_code == 400
    assert _post(client, f"/file/{fid}/ifu", ifu="25", is_valid="1",
                 comment="x").status_code == 400
    assert _post(client, f"/file/{fid}/qa", state="Great", comment="x").status_code == 400


def test_cannot_validate_what_one_cannot_see(app, catalogue):
    client = app.test_client()
    login(client, "alice")
    resp = _post(client, f"/file/{catalogue['science']}/ifu", ifu="1", is_valid="0",
                 comment="hidden", action="set")
    assert resp.status_code == 404


def test_summary_follows_decisions(app, engine, catalogue):
    """The summary's counts are recounted for the nights whose QC changed."""
    client = app.test_client()
    login(client, "alice")
    assert 'bias_raw">3</a> <b class="valid">✓1</b> <b class="invalid">✗1</b>' in client.get(
        "/").get_data(as_text=True)
    for ifu in ("3", "7", "12"):
        _post(client, f"/file/{catalogue['bias0']}/ifu", ifu=ifu, is_valid="1", action="set",
              comment="fine")
    page = client.get("/").get_data(as_text=True)
    assert 'bias_raw">3</a> <b class="valid">✓2</b></td>' in page
    with engine.begin() as conn:   # a batch QC run marks a master bias Fail
        conn.execute(text("UPDATE qc.qa SET state = 'Fail' WHERE file_id = :f"),
                     {"f": catalogue["master1"]})
    assert 'bias_red">3</a> <b class="valid">✓1</b> <b class="invalid">✗2</b>' in client.get(
        "/").get_data(as_text=True)
