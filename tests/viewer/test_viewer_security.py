"""Security: logins, the privilege rule on pages, images and plots, CSRF, escaping."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from viewer_fixtures import app_fixture, catalogue_fixture  # noqa: F401
from viewer_support import PASSWORD, SCRIPT_OBJECT, csrf_from, login


@pytest.mark.parametrize("path", ["/", "/qa", "/jobs", "/links", "/file/1", "/cube/1",
                                  "/api/file/1/trend?metric=x", "/image/1",
                                  "/night/2024-03-09/bias_raw"])
def test_anonymous_requests_go_to_the_login(app, path):
    resp = app.test_client().get(path)
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/login")


def test_anonymous_post_goes_to_the_login(app, catalogue):
    resp = app.test_client().post(f"/file/{catalogue['bias0']}/ifu", data={"ifu": "1"})
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_proprietary_product_hidden_from_strangers(app, catalogue):
    client = app.test_client()
    login(client, "reader")           # in no group: sees only released data
    cube, image, science = catalogue["cube"], catalogue["image"], catalogue["science"]
    for url in (f"/cube/{cube}", f"/file/{cube}", f"/image/{image}",
                f"/api/file/{cube}/ifu-metrics", f"/api/file/{cube}/trend?metric=psf.fwhm",
                f"/file/{science}", f"/cube/{cube}?tab=psf"):
        assert client.get(url).status_code in (403, 404), url
    page = client.get("/night/2024-03-09/science_scipost").get_data(as_text=True)
    assert "MUSE.CUBE.fits" not in page
    assert "science_raw" not in client.get("/").get_data(as_text=True)
    # released calibrations are for everybody
    assert client.get(f"/file/{catalogue['bias0']}").status_code == 200


def test_owner_group_sees_its_proprietary_data(app, catalogue):
    client = app.test_client()
    login(client, "teamer")
    assert client.get(f"/file/{catalogue['science']}").status_code == 200
    assert client.get(f"/image/{catalogue['image']}").status_code == 200


def test_project_group_does_not_see_privilege_1(app, catalogue):
    client = app.test_client()
    login(client, "alice")            # GTO project member: privilege 2 yes, 1 no
    assert client.get(f"/cube/{catalogue['cube']}").status_code == 200
    assert client.get(f"/file/{catalogue['science']}").status_code == 404


def test_form_without_csrf_token_is_refused(app, catalogue):
    client = app.test_client()
    login(client, "alice")
    url = f"/file/{catalogue['bias0']}/ifu"
    form = {"ifu": "3", "is_valid": "1", "comment": "fine after all", "action": "set"}
    assert client.post(url, data=form).status_code == 400
    assert client.post(url, data={**form, "csrf_token": "forged"}).status_code == 400
    assert client.post("/select", data={"project": "GTO"}).status_code == 400
    assert client.post("/logout").status_code == 400


def test_login_form_needs_its_token(app, catalogue):
    client = app.test_client()
    resp = client.post("/login", data={"username": "alice", "password": "x" * 10})
    assert resp.status_code == 400


def test_script_in_object_is_escaped(app, catalogue):
    client = app.test_client()
    login(client, "teamer")
    page = client.get(f"/file/{catalogue['science']}").get_data(as_text=True)
    assert SCRIPT_OBJECT not in page
    assert "&lt;script&gt;alert(" in page
    assert "script-src 'self'" in client.get("/").headers["Content-Security-Policy"]


def test_readers_cannot_validate(app, catalogue):
    client = app.test_client()
    login(client, "reader")
    token = csrf_from(client.get("/").get_data(as_text=True))
    resp = client.post(f"/file/{catalogue['bias0']}/ifu",
                       data={"csrf_token": token, "ifu": "3", "is_valid": "1",
                             "comment": "no right", "action": "set"})
    assert resp.status_code == 403


def test_logout_ends_the_session(app, catalogue):
    client = app.test_client()
    login(client, "alice")
    token = csrf_from(client.get("/").get_data(as_text=True))
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302


def test_summary_counts_equal_may_see(engine, catalogue):
    """The summary's per-class visibility counts exactly the files qc.may_see allows."""
    from qcservice.viewer.summary import _SUMMARY

    per_file = """
        SELECT count(*) FROM qc.files f
        LEFT JOIN qc.raw_frames r USING (file_id) LEFT JOIN qc.products p USING (file_id)
        WHERE f.project_id = :p AND qc.may_see(:u, f.file_id)
          AND coalesce(qc.viewer_raw_category(r.dpr_catg, r.dpr_type),
                       qc.viewer_product_category(p.pro_catg)) IS NOT NULL"""
    with engine.begin() as conn:
        conn.execute(text("SELECT qc.viewer_refresh_counts()"))
        pid = conn.execute(text("SELECT project_id FROM qc.projects WHERE name = 'GTO'")
                           ).scalar_one()
        seen = set()
        for (uid,) in conn.execute(text("SELECT user_id FROM qc.users")).all():
            summed = sum(r.n for r in conn.execute(text(_SUMMARY), {
                "uid": uid, "project_id": pid, "mode": None, "start": None, "end": None}))
            direct = conn.execute(text(per_file), {"u": uid, "p": pid}).scalar_one()
            assert summed == direct
            seen.add(direct)
    assert len(seen) > 1   # the users do see different things


def test_summary_follows_privilege_changes(app, engine, catalogue):
    """A file whose privilege or existence changes is recounted with its new rights."""
    client = app.test_client()
    login(client, "alice")
    assert "science_raw" not in client.get("/").get_data(as_text=True)
    with engine.begin() as conn:   # the science frame opens to its project (privilege 2)
        conn.execute(text("UPDATE qc.files SET privilege = 2 WHERE file_id = :f"),
                     {"f": catalogue["science"]})
    assert 'science_raw">1</a>' in client.get("/").get_data(as_text=True)
    with engine.begin() as conn:   # a sample file of its class goes away
        conn.execute(text("DELETE FROM qc.files WHERE file_id = :f"), {"f": catalogue["bias2"]})
    page = client.get("/").get_data(as_text=True)
    assert 'bias_raw">2</a>' in page and 'bias_red">3</a>' in page


def test_under_a_path_prefix_links_and_login_keep_it(app, catalogue):
    """Mounted under /qa (SCRIPT_NAME, as ProxyFix sets it from X-Forwarded-Prefix), the
    login redirect, its ``next`` and the page's links all carry the prefix."""
    client = app.test_client()
    prefix = "http://localhost/qa"          # werkzeug: the base URL's path is SCRIPT_NAME
    resp = client.get("/jobs", base_url=prefix)
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/qa/login?next=/qa/jobs")
    token = csrf_from(client.get("/login", base_url=prefix).get_data(as_text=True))
    resp = client.post("/login?next=/qa/jobs", base_url=prefix,
                       data={"username": "alice", "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"] == "/qa/jobs"
    page = client.get("/", base_url=prefix).get_data(as_text=True)
    assert 'href="/qa/jobs"' in page and 'value="/qa/"' in page
    assert 'href="/jobs"' not in page
