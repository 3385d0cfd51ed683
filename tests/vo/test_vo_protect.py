"""Proprietary data: every path that serves pixels of an embargoed product answers 401/403
to anonymous clients and non-members, 200 to a member. One test per path."""

from __future__ import annotations

from urllib.parse import quote

import pytest
import requests
from vo_support import PASSWORD

pytestmark = pytest.mark.slow

MEMBER = ("member", PASSWORD)
STRANGER = ("stranger", PASSWORD)


def _check(url: str, params: dict | None = None) -> None:
    anon = requests.get(url, params=params, timeout=60)
    assert anon.status_code in (401, 403), (url, anon.status_code)
    other = requests.get(url, params=params, auth=STRANGER, timeout=60)
    assert other.status_code in (401, 403), (url, other.status_code)
    wrong = requests.get(url, params=params, auth=("member", "wrong"), timeout=60)
    assert wrong.status_code in (401, 403), (url, wrong.status_code)
    member = requests.get(url, params=params, auth=MEMBER, timeout=60)
    assert member.status_code == 200, (url, member.status_code, member.text[:300])
    assert len(member.content) > 0


def test_getproduct_is_protected(vo_service):
    _check(f"{vo_service.url}/getproduct/{vo_service.embargoed}")


def test_getproduct_preview_is_protected(vo_service):
    _check(f"{vo_service.url}/getproduct/{vo_service.embargoed}", {"preview": "True"})


def test_no_preview_is_rendered_from_the_file(vo_service):
    """?preview=True of every cube and image goes to the guarded preview service: a PNG
    (an image may show its cube's), or 404 where there is none; never a preview DaCHS makes
    from the file itself, past the embargo (it answered 500 on MUSE's empty primary)."""
    import pyvo

    tap = pyvo.dal.TAPService(vo_service.tap)
    rows = tap.search("SELECT accref, dptype, embargo FROM muse.cubes")
    seen = {}
    for r in rows:
        resp = requests.get(r["accref"], params={"preview": "True"}, timeout=60,
                            allow_redirects=False)
        assert resp.status_code in (301, 302, 303), (r["accref"], resp.status_code)
        assert "/muse/q/pv/dlget?" in resp.headers["Location"]
        seen[str(r["accref"]).rsplit("/", 1)[-1]] = requests.get(
            resp.headers["Location"], timeout=60).status_code
    assert seen["DATACUBE_FINAL_1.fits"] == 401          # embargoed, with its PNG
    # its cube's white light only when the cube is public no later than the image
    # (here the cube is proprietary and the image public: no preview)
    assert seen["IMAGE_FOV_1.fits"] == 404
    assert seen["minicube.fits"] == 404                   # no PNG: not made from the file
    assert set(seen.values()) <= {200, 401, 404}


def test_soda_refuses_before_checking_parameters(vo_service):
    """An anonymous SODA request for an embargoed product is refused (401) whatever its
    parameters: a member gets the parameter error (422), a stranger nothing about it."""
    params = {"ID": vo_service.pubdid(vo_service.embargoed), "BAND": "not a band"}
    url = f"{vo_service.url}/muse/q/dl/dlget"
    assert requests.get(url, params=params, timeout=60).status_code == 401
    assert requests.get(url, params=params, auth=STRANGER, timeout=60).status_code == 403
    assert requests.get(url, params=params, auth=MEMBER, timeout=60).status_code in (400, 422)


def test_preview_service_is_protected(vo_service):
    _check(f"{vo_service.url}/muse/q/pv/dlget", {"ID": vo_service.pubdid(vo_service.embargoed)})


def test_soda_cutout_is_protected(vo_service):
    _check(f"{vo_service.url}/muse/q/dl/dlget",
           {"ID": vo_service.pubdid(vo_service.embargoed), "BAND": "6.0e-7 6.1e-7"})


def test_datalink_served_file_is_protected(vo_service):
    # dlget without parameters hands out the whole file through DataLink
    _check(f"{vo_service.url}/muse/q/dl/dlget", {"ID": vo_service.pubdid(vo_service.embargoed)})


def test_spectrum_datalink_file_is_protected(vo_service):
    _check(f"{vo_service.url}/muse/ssa/dl/dlget", {"ID": vo_service.pubdid(vo_service.spectrum)})


def test_no_debug_pages(vo_service):
    # 'dachs serve debug' would stop the server on any anonymous GET of /exit
    assert requests.get(f"{vo_service.url}/exit", timeout=60).status_code == 404
    assert requests.get(f"{vo_service.url}/tap/capabilities", timeout=60).status_code == 200


def test_public_product_needs_no_credentials(vo_service):
    url = f"{vo_service.url}/getproduct/{vo_service.public}"
    assert requests.get(url, timeout=60).status_code == 200
    did = quote(vo_service.pubdid(vo_service.public), safe="")
    dl = requests.get(f"{vo_service.url}/muse/q/dl/dlmeta?ID={did}", timeout=60)
    assert dl.status_code == 200


_DACHS_ALLOWS = """
SELECT u.username, p.accref,
       p.embargo IS NULL OR p.embargo < current_date
       OR EXISTS (SELECT 1 FROM dc.groups g
                  WHERE g.username = u.username AND g.groupname = p.owner) AS dachs,
       CASE WHEN p.accref LIKE 'muse/anc/%'
            THEN qc.may_see_ancillary(u.user_id, CAST(split_part(p.accref, '/', 3) AS bigint))
            ELSE qc.may_see(u.user_id, CAST(split_part(p.accref, '/', 2) AS bigint))
       END AS may_see
FROM qc.users u CROSS JOIN dc.products p
WHERE p.accref LIKE 'muse/%'
"""


def test_dachs_and_the_viewer_agree_on_every_embargoed_file(vo_service, hst_cutout, tmp_path):
    """DaCHS's own access rule (owner group, embargo) over its products table equals
    qc.may_see (qc.may_see_ancillary for ancillary data) for every user and file, across
    privileges 1-3 and roles."""
    import datetime as dt
    import shutil

    from sqlalchemy import text
    from werkzeug.security import generate_password_hash

    from qcservice.ancillary.register import Rights, register_files, remove_files

    hst = tmp_path / "hst-embargoed.fits"
    shutil.copy(hst_cutout, hst)

    digest = generate_password_hash(PASSWORD, method="scrypt")
    with vo_service.engine.begin() as conn:
        saved = conn.execute(text("SELECT file_id, release_date, privilege "
                                  "FROM qc.files")).all()
        ids = [r.file_id for r in saved]
        # embargo everything, privileges 1, 2, 3 in turn
        conn.execute(text("UPDATE qc.files SET release_date = '2099-01-01', "
                          "privilege = 1 + file_id % 3 WHERE file_id = ANY(:i)"), {"i": ids})
        project_group = conn.execute(text(
            "SELECT pr.group_id FROM qc.projects pr JOIN qc.files f USING (project_id) "
            "WHERE f.file_id = :f"), {"f": ids[0]}).scalar_one()
        for name, role, group in (("boss", "admin", None), ("teammate", "reader", project_group),
                                  ("colleague", "reader", "consortium")):
            uid = conn.execute(text("INSERT INTO qc.users (username, password_hash, role) "
                                    "VALUES (:u, :h, :r) RETURNING user_id"),
                               {"u": name, "h": digest, "r": role}).scalar_one()
            if group == "consortium":
                group = conn.execute(text("SELECT group_id FROM qc.groups "
                                          "WHERE name = 'consortium'")).scalar_one()
            if group is not None:
                conn.execute(text("INSERT INTO qc.user_groups VALUES (:u, :g)"),
                             {"u": uid, "g": group})
        owner = conn.execute(text("SELECT g.name FROM qc.groups g JOIN qc.files f "
                                  "ON f.owner_group_id = g.group_id WHERE f.file_id = :f"),
                             {"f": int(vo_service.embargoed.split("/")[1])}).scalar_one()
    outcome, = register_files(vo_service.engine, [hst], "TEST-EMBARGO",
                              Rights(group=owner, release=dt.date(2099, 1, 1)))
    assert outcome.action == "registered", outcome.describe()
    try:
        vo_service.republish()
        with vo_service.engine.connect() as conn:
            rows = conn.execute(text(_DACHS_ALLOWS)).all()
        assert len({r.accref for r in rows}) >= 10
        assert any(r.accref.startswith("muse/anc/") and not r.dachs for r in rows)
        verdicts = {(r.dachs, r.may_see) for r in rows}
        assert (True, True) in verdicts and (False, False) in verdicts
        disagree = [r for r in rows if r.dachs != r.may_see]
        assert not disagree, disagree[:5]
        # (other tests may have left public ancillary files: only our files count here)
        seen = {r.username for r in rows if r.may_see and not r.accref.startswith("muse/anc/")}
        assert {"boss", "teammate", "colleague", "member"} <= seen
        assert "stranger" not in seen
    finally:
        remove_files(vo_service.engine, [hst])
        with vo_service.engine.begin() as conn:
            for r in saved:
                conn.execute(text("UPDATE qc.files SET release_date = :d, privilege = :p "
                                  "WHERE file_id = :f"),
                             {"d": r.release_date, "p": r.privilege, "f": r.file_id})
            conn.execute(text("DELETE FROM qc.users WHERE username IN "
                              "('boss', 'teammate', 'colleague')"))
        vo_service.republish()


def test_one_users_command_serves_viewer_and_vo(vo_service, tmp_path):
    """`musedc users` changes reach DaCHS at once: a new member downloads the embargoed
    cube with the password set on the command line; deactivated, they are refused."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    musedc = Path(sys.executable).with_name("musedc")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSEDC_")}
    env.update(MUSEDC_HOME=str(tmp_path / "home"),
               MUSEDC_DATABASE_URL=vo_service.settings.database_url)

    def run(*args: str, stdin: str | None = None) -> str:
        proc = subprocess.run([str(musedc), "users", *args], input=stdin, env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    with vo_service.engine.connect() as conn:
        from sqlalchemy import text
        owner = conn.execute(text(
            "SELECT g.name FROM qc.files f JOIN qc.groups g ON g.group_id = f.owner_group_id "
            "WHERE f.file_id = :f"), {"f": int(vo_service.embargoed.split("/")[1])}).scalar_one()
    url = f"{vo_service.url}/getproduct/{vo_service.embargoed}"
    newbie = ("newbie", "n3w-pass-word")
    try:
        assert "VO services (DaCHS)" in run("add", "newbie", "--password-stdin",
                                             stdin=newbie[1] + "\n")
        assert requests.get(url, auth=newbie, timeout=60).status_code in (401, 403)
        run("group", "add", "newbie", owner)
        assert requests.get(url, auth=newbie, timeout=60).status_code == 200
        run("deactivate", "newbie")
        assert requests.get(url, auth=newbie, timeout=60).status_code in (401, 403)
    finally:
        with vo_service.engine.begin() as conn:
            conn.execute(text("DELETE FROM qc.users WHERE username = 'newbie'"))
        vo_service.republish()


def test_publish_names_what_is_proprietary(vo_service):
    """The lines the demo prints after publishing: the embargoed cube and spectrum, with
    their release date and access group; nothing public."""
    from qcservice.vo.publish import proprietary_lines

    lines = proprietary_lines(vo_service.instance)
    names = {line.split(" ", 1)[0] for line in lines}
    assert names == {vo_service.embargoed.rsplit("/", 1)[1],
                     vo_service.spectrum.rsplit("/", 1)[1]}
    assert all("proprietary until 2099-01-01" in line and "acl_" in line for line in lines)
