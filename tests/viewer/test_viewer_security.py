"""Security: logins, the privilege rule on pages, images and plots, CSRF, escaping."""

from __future__ import annotations

from urllib.parse import quote, unquote, urljoin, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from viewer_support import PASSWORD, SCRIPT_OBJECT, add_file, csrf_from, login, tiny_png

# What anonymous users may reach, stated here once; every other route is derived from the
# app's URL map, so a new page is checked without being listed.
_PUBLIC_ENDPOINTS = {"auth.login", "pages.vendor", "pages.favicon"}
# files a download script fetches: 401 and a basic-auth challenge unless asked by a browser
_BASIC_AUTH_ENDPOINTS = {"downloads.file", "downloads.ancillary_file"}
_ANY_VALUE = {"file_id": 1, "image_id": 1, "anc_id": 1, "run_id": 1, "ifu": 1,
              "night": "2024-03-09", "cat": "bias_raw", "catg": "MASTER_BIAS",
              "direction": "next", "filename": "x.fits"}


def test_anonymous_requests_go_to_the_login(app):
    client = app.test_client()
    checked = set()
    for endpoint, method, rule in _routes(app):
        if method != "GET" or endpoint in _PUBLIC_ENDPOINTS:
            continue
        path = _url(rule, _ANY_VALUE)
        resp = client.get(path, headers={"Accept": "text/html"})
        assert resp.status_code == 302, f"{path}: {resp.status_code}"
        assert resp.headers["Location"].startswith("/login"), path
        if endpoint in _BASIC_AUTH_ENDPOINTS:
            script = client.get(path)
            assert script.status_code == 401 and "Basic" in script.headers["WWW-Authenticate"]
        checked.add(path)
    assert {"/", "/qa", "/jobs", "/links", "/file/1", "/cube/1", "/image/1",
            "/night/2024-03-09/bias_raw"} <= checked
    resp = client.get("/api/file/1/trend?metric=x")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


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
    """The summary's per-class visibility counts exactly the files qc.may_see allows, over
    every mode (the totals) and in one mode (the counts)."""
    from qcservice.viewer.summary import _SUMMARY, _SUMMARY_MODE

    per_file = """
        SELECT count(*) FROM qc.files f
        LEFT JOIN qc.raw_frames r USING (file_id) LEFT JOIN qc.products p USING (file_id)
        WHERE f.project_id = :p AND qc.may_see(:u, f.file_id)
          AND (CAST(:m AS text) IS NULL OR coalesce(r.ins_mode, p.ins_mode) = :m)
          AND coalesce(qc.viewer_raw_category(r.dpr_catg, r.dpr_type),
                       qc.viewer_product_category(p.pro_catg)) IS NOT NULL"""
    with engine.begin() as conn:   # a frame of another mode, which one mode leaves out
        add_file(conn, "MUSE.NFM.BIAS.fits", "raw", dpr_catg="CALIB", dpr_type="BIAS",
                 ins_mode="NFM-AO-N")
        conn.execute(text("SELECT qc.viewer_refresh_counts()"))
        pid = conn.execute(text("SELECT project_id FROM qc.projects WHERE name = 'GTO'")
                           ).scalar_one()
        seen = set()
        for (uid,) in conn.execute(text("SELECT user_id FROM qc.users")).all():
            for sql, mode in ((_SUMMARY, None), (_SUMMARY_MODE, "WFM-NOAO-N")):
                summed = sum(r.n for r in conn.execute(text(sql), {
                    "uid": uid, "project_id": pid, "mode": mode, "start": None,
                    "end": None}))
                direct = conn.execute(text(per_file), {"u": uid, "p": pid, "m": mode}
                                      ).scalar_one()
                assert summed == direct, mode
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


# --- one redirect rule for every `next` (issue #16, item 2) -----------------------------

_BROWSER_DROPS = str.maketrans("", "", "\t\n\r")


def _where_a_browser_goes(location: str) -> str:
    """The host a browser on https://viewer.example/qa/ reaches with this Location: it
    drops tabs and newlines, trims C0 controls and spaces, reads a backslash as a slash."""
    cleaned = location.translate(_BROWSER_DROPS).strip("".join(map(chr, range(33))))
    return urlsplit(urljoin("https://viewer.example/qa/", cleaned.replace("\\", "/"))).netloc


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(), st.text(alphabet="/\\%09aAe:.@ \t\n"),
                 st.builds(lambda a, b: a + b, st.sampled_from(
                     ["/", "//", "/\t/", "/%09/", "/%2F", "\\", "/\\", "https:", "%2F%2F"]),
                     st.text(alphabet="evil.xmp/:%09\\"))))
def test_next_never_leaves_the_site(target):
    from qcservice.viewer.auth import safe_next

    went = safe_next(target, "/home")
    assert went == "/home" or went == target
    assert _where_a_browser_goes(went) == "viewer.example"
    assert _where_a_browser_goes(unquote(went)) == "viewer.example"


@given(st.lists(st.text(alphabet="abcXYZ019-_.~", min_size=1), max_size=4),
       st.text(alphabet="abc=&0-9", max_size=12))
def test_next_keeps_paths_on_the_site(segments, query):
    from qcservice.viewer.auth import safe_next

    target = "/" + "/".join(segments) + (f"?{query}" if query else "")
    assert safe_next(target, "/home") == target


_EVIL_NEXT = ["/%09/evil.example", "//evil.example", "/\\evil.example", "https://evil.example/",
              "/%2F/evil.example", "/\t/evil.example", "/%5Cevil.example"]


def test_no_next_redirects_elsewhere(app, catalogue):
    """The probes of the issue: login, POST /select, POST /file/<id>/qa."""
    client = app.test_client()
    bias = catalogue["bias0"]
    for evil in _EVIL_NEXT:
        token = csrf_from(client.get("/login").get_data(as_text=True))
        resp = client.post(f"/login?next={quote(evil, safe='')}", data={
            "username": "alice", "password": PASSWORD, "csrf_token": token})
        assert resp.status_code == 302 and resp.headers["Location"] == "/", evil
        token = csrf_from(client.get("/").get_data(as_text=True))
        resp = client.post("/select", data={"project": "GTO", "csrf_token": token,
                                            "next": evil})
        assert resp.status_code == 302 and resp.headers["Location"] == "/", evil
        resp = client.post(f"/file/{bias}/qa", data={"csrf_token": token, "state": "Pass",
                                                     "comment": "ok", "action": "set",
                                                     "next": evil})
        assert resp.status_code == 302 and resp.headers["Location"] == f"/file/{bias}", evil


# --- throttled logins (item 3) -----------------------------------------------------------

def _wrong_form_login(client, username: str):
    return login(client, username, "wrong password!")


def _age_failures(engine, minutes: int) -> None:
    """Let time pass for the throttle: its failures happened ``minutes`` earlier."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE qc.login_failures SET at = at - make_interval(mins => :m)"),
                     {"m": minutes})


def test_guessing_a_password_on_the_form_is_throttled(app, engine, catalogue):
    client = app.test_client()
    codes = [_wrong_form_login(client, "alice").status_code for _ in range(12)]
    assert codes[:9] == [401] * 9 and codes[9:] == [429] * 3
    resp = login(client, "alice")            # the right password, while throttled
    assert resp.status_code == 429 and 0 < int(resp.headers["Retry-After"]) <= 300
    assert "Too many failed logins" in resp.get_data(as_text=True)
    with engine.begin() as conn:
        audit = conn.execute(text("SELECT actor, new_value FROM qc.audit_log "
                                  "WHERE action = 'login_throttled'")).all()
        counted = conn.execute(text("SELECT count(*) FROM qc.login_failures")).scalar_one()
    assert [a.actor for a in audit] == ["alice"]
    assert audit[0].new_value["channel"] == "viewer"
    assert counted == 10                      # refused attempts are not counted
    other = app.test_client()                 # another account from the same address: fine
    assert login(other, "teamer").status_code == 302
    _age_failures(engine, 6)                  # the window has passed: the user is back
    assert login(client, "alice").status_code == 302


def test_many_accounts_from_one_address_are_throttled(app, engine, catalogue):
    client = app.test_client()
    codes = [_wrong_form_login(client, f"user{i}").status_code for i in range(31)]
    assert codes[:29] == [401] * 29 and codes[29:] == [429] * 2
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    assert login(other, "alice").status_code == 302   # another address is not affected


def test_basic_auth_on_files_is_throttled(app, engine, catalogue, tmp_path):
    fits = tmp_path / "MUSE.BIAS0.fits"
    fits.write_bytes(b"SIMPLE  =                    T" + b" " * 2850)
    with engine.begin() as conn:
        conn.execute(text("UPDATE qc.files SET path = :p WHERE file_id = :f"),
                     {"p": str(fits), "f": catalogue["bias0"]})
    url = f"/files/{catalogue['bias0']}/MUSE.BIAS0.fits"
    client = app.test_client()
    wrong = [client.get(url, auth=("reader", f"guess{i}")).status_code for i in range(11)]
    assert wrong[:9] == [401] * 9 and wrong[9:] == [429] * 2
    right = client.get(url, auth=("reader", PASSWORD))
    assert right.status_code == 429 and int(right.headers["Retry-After"]) > 0
    _age_failures(engine, 6)
    assert client.get(url, auth=("reader", PASSWORD)).status_code == 200


# --- sessions bound to the credentials (item 4) -----------------------------------------

@pytest.mark.parametrize("change", ["password", "role"])
def test_new_password_or_role_ends_the_sessions(app, engine, catalogue, change):
    from qcservice.users import set_password, set_role

    client = app.test_client()
    login(client, "alice")
    assert client.get("/").status_code == 200
    with engine.begin() as conn:
        if change == "password":
            set_password(conn, "alice", "a brand new password")
        else:
            set_role(conn, "alice", "reader")
    resp = client.get("/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


def test_unchanged_credentials_keep_the_session(app, engine, catalogue):
    client = app.test_client()
    login(client, "alice")
    with engine.begin() as conn:
        conn.execute(text("UPDATE qc.users SET full_name = 'Alice' WHERE username = 'alice'"))
    assert client.get("/").status_code == 200


# --- the adversarial suite: every route of the URL map x anonymous, stranger, member ------

def _embargoed(engine, catalogue, tmp_path) -> dict[str, object]:
    """Values for every route argument, all naming the embargoed science frame (owner
    PROG-A, privilege 1, released 2099): a real file on disk, an image, an ancillary file."""
    fits = tmp_path / "MUSE.OBJ.fits"
    fits.write_bytes(b"SIMPLE  =                    T" + b" " * 2850)
    anc = tmp_path / "hst.fits"
    anc.write_bytes(fits.read_bytes())
    with engine.begin() as conn:
        fid = catalogue["science"]
        conn.execute(text("UPDATE qc.files SET path = :p WHERE file_id = :f"),
                     {"p": str(fits), "f": fid})
        image = conn.execute(text(
            "INSERT INTO qc.qc_images (file_id, kind, title, path) VALUES "
            "(:f, 'white_light', 'secret', :p) RETURNING image_id"),
            {"f": fid, "p": str(tiny_png(tmp_path / "secret.png"))}).scalar_one()
        anc_id = conn.execute(text("""
            INSERT INTO qc.ancillary (collection, path, filename, kind, format, mime,
                size_bytes, mtime, checksum, ra, dec, footprint, corners, owner_group_id,
                release_date)
            VALUES ('HST', :p, 'hst.fits', 'image', 'fits', 'application/fits', 2880, now(),
                'sha256:0', 63.35, -1.09,
                spoly '{(63.3d,-1.1d),(63.4d,-1.1d),(63.4d,-1.0d)}', '{63.3,-1.1}',
                (SELECT group_id FROM qc.groups WHERE name = 'PROG-A'), '2099-01-01')
            RETURNING anc_id"""), {"p": str(anc)}).scalar_one()
        run = conn.execute(text("INSERT INTO qc.job_runs (kind, status) VALUES "
                                "('qc', 'failed') RETURNING run_id")).scalar_one()
        conn.execute(text("""
            INSERT INTO qc.qc_done (file_id, task, status, error, file_updated_at,
                                    code_version, run_id)
            VALUES (:f, 'raw', 'failed', 'a secret failure', now(), 'probe', :r)
            ON CONFLICT (file_id) DO UPDATE SET status = 'failed', run_id = :r,
                error = 'a secret failure'"""), {"f": fid, "r": run})
    return {"file_id": fid, "image_id": image, "anc_id": anc_id, "night": "2024-03-09",
            "cat": "science_raw", "catg": "MASTER_BIAS", "run_id": run, "ifu": 1,
            "direction": "next",
            "filename": {"downloads.file": "MUSE.OBJ.fits",
                         "downloads.ancillary_file": "hst.fits"}}


def _routes(app) -> list[tuple[str, str, str]]:
    """(endpoint, method, URL) of every rule, arguments filled in later."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, method, rule))
    return sorted(found, key=lambda r: r[0] == "auth.logout")   # it ends the sessions


def _url(rule, values: dict) -> str:
    args = {}
    for name in rule.arguments:
        value = values[name]          # a new argument name must be given a value here
        args[name] = value[rule.endpoint] if isinstance(value, dict) else value
    return rule.build(args)[1]


_SECRET_MARKERS = ("MUSE.OBJ.fits", "hst.fits", "&lt;script&gt;alert(", "secret")


def test_every_route_guards_the_embargoed_file(app, engine, catalogue, tmp_path):
    values = _embargoed(engine, catalogue, tmp_path)
    routes = _routes(app)
    assert len(routes) >= 25, "the URL map lost routes?"
    clients = {"anonymous": app.test_client(), "stranger": app.test_client(),
               "member": app.test_client()}
    login(clients["stranger"], "reader")
    login(clients["member"], "teamer")
    tokens = {who: csrf_from(clients[who].get("/").get_data(as_text=True))
              for who in ("stranger", "member")}
    member_saw = set()
    for endpoint, method, rule in routes:
        url = _url(rule, values)
        for who, client in clients.items():
            data = {"file_id": str(values["file_id"]), "csrf_token": tokens.get(who, ""),
                    "ifu": "1", "state": "Pass", "comment": "probe", "action": "set",
                    "project": "GTO"}
            resp = client.open(url, method=method, data=data if method == "POST" else None)
            body = resp.get_data()
            shown = body.decode("latin-1")
            where = f"{who} {method} {url}: {resp.status_code}"
            assert resp.status_code < 500, where
            if who == "anonymous" and endpoint not in _PUBLIC_ENDPOINTS:
                assert resp.status_code in (302, 400, 401), where
                assert resp.status_code != 302 or "/login" in resp.headers["Location"]
            if who == "stranger":
                assert resp.status_code != 200 or not any(
                    m in shown for m in _SECRET_MARKERS), where
                assert b"SIMPLE  =" not in body and b"\x89PNG" not in body, where
            secret = any(m in shown for m in _SECRET_MARKERS) or body.startswith(
                (b"SIMPLE  =", b"\x89PNG"))
            if who == "member" and resp.status_code == 200 and secret:
                member_saw.add(endpoint)
    # the probe reaches what it guards: the member does get the embargoed data there
    assert {"files.detail", "downloads.file", "downloads.ancillary_file",
            "plotdata.image", "pages.run_failures"} <= member_saw


def test_ids_beyond_64_bits_are_not_found(app, catalogue):
    client = app.test_client()
    login(client, "alice")
    token = {"csrf_token": csrf_from(client.get("/").get_data(as_text=True))}
    checked = 0
    for rule in app.url_map.iter_rules():
        ids = [a for a in rule.arguments if rule._converters[a].__class__.__name__ ==
               "IdConverter"]
        if not ids:
            continue
        values = {name: "x.fits" for name in rule.arguments}
        values.update({name: 7654321 for name in ids})
        for big in (2**63, 10**20, 2**63 - 1):
            url = rule.build(values)[1].replace("7654321", str(big))
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                resp = client.open(url, method=method, follow_redirects=True,
                                   data=token if method == "POST" else None)
                assert resp.status_code == 404, f"{method} {url}: {resp.status_code}"
                checked += 1
    assert checked >= 30
