"""Security of the real DaCHS instance (issue #16): its secrets closed to a second Unix
account, its basic auth throttled like the viewer's, and every product path its DataLink
documents for an embargoed cube or spectrum tried as anonymous, stranger and member."""

from __future__ import annotations

import io
from urllib.parse import quote

import pytest
import requests
from astropy.io.votable import parse_single_table
from sqlalchemy import text
from vo_support import PASSWORD

from qcservice import filemodes
from qcservice.vo.accounts import sync_users

pytestmark = pytest.mark.slow


def test_dachs_secrets_are_closed_to_other_accounts(vo_service, as_nobody):
    """What `su nobody` read before: the database profiles, gavo.rc's adminpasswd."""
    root = vo_service.instance.root
    secrets = [root / "gavo.rc", root / "adminpasswd",
               *(root / "etc" / name for name in ("feed", "trustedquery", "untrustedquery"))]
    assert all(path.is_file() for path in secrets)
    assert "password" in (root / "etc" / "feed").read_text()
    for path in secrets:
        refused = as_nobody("/bin/cat", str(path))
        assert refused.returncode != 0 and "Permission denied" in refused.stderr, path
        assert path.stat().st_mode & 0o077 == 0, path
    for folder in (root, root / "etc"):
        listed = as_nobody("/bin/ls", str(folder))
        assert listed.returncode != 0 and "Permission denied" in listed.stderr, folder
    assert filemodes.problems(vo_service.settings) == []


def _links(vo_service, accref: str, service: str) -> list[str]:
    """The access URLs on this server that DataLink gives the member for a product."""
    did = quote(vo_service.pubdid(accref), safe="")
    resp = requests.get(f"{vo_service.url}/muse/{service}/dl/dlmeta?ID={did}",
                        auth=("member", PASSWORD), timeout=60)
    assert resp.status_code == 200
    table = parse_single_table(io.BytesIO(resp.content)).to_table()
    own = [str(u) for u, sem in zip(table["access_url"], table["semantics"], strict=True)
           if str(u).startswith(vo_service.url) and str(sem) in ("#this", "#preview")]
    return own


def test_every_product_path_of_an_embargoed_file(vo_service):
    """The adversarial suite's VO half: each URL DataLink documents for the embargoed cube
    and spectrum (plus /getproduct's preview and SODA cutouts), for three clients."""
    urls = [*_links(vo_service, vo_service.embargoed, "q"),
            *_links(vo_service, vo_service.spectrum, "ssa")]
    assert len(urls) >= 3, urls
    did = quote(vo_service.pubdid(vo_service.embargoed), safe="")
    urls += [f"{vo_service.url}/getproduct/{vo_service.embargoed}?preview=True",
             f"{vo_service.url}/getproduct/{vo_service.spectrum}",
             f"{vo_service.url}/muse/q/dl/dlget?ID={did}&BAND=6.0e-7%206.1e-7",
             f"{vo_service.url}/muse/q/pv/dlget?ID={did}"]
    for url in urls:
        anonymous = requests.get(url, timeout=60)
        stranger = requests.get(url, auth=("stranger", PASSWORD), timeout=60)
        member = requests.get(url, auth=("member", PASSWORD), timeout=60)
        assert anonymous.status_code in (401, 403), (url, anonymous.status_code)
        assert stranger.status_code in (401, 403), (url, stranger.status_code)
        assert member.status_code == 200 and member.content, (url, member.status_code)
        for refused in (anonymous, stranger):
            assert not refused.content.startswith((b"SIMPLE  =", b"\x89PNG")), url


def test_guessing_a_password_on_dachs_is_throttled(vo_service):
    engine = vo_service.engine
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO qc.users (username, password_hash) "
                          "SELECT 'guesser', password_hash FROM qc.users "
                          "WHERE username = 'member'"))
        conn.execute(text("INSERT INTO qc.user_groups SELECT g.user_id, ug.group_id "
                          "FROM qc.users g, qc.user_groups ug JOIN qc.users m USING (user_id) "
                          "WHERE g.username = 'guesser' AND m.username = 'member'"))
    sync_users(engine)
    url = f"{vo_service.url}/getproduct/{vo_service.embargoed}"
    try:
        codes = [requests.get(url, auth=("guesser", f"guess-{i}"), timeout=60).status_code
                 for i in range(11)]
        assert all(c in (401, 403) for c in codes[:9]) and codes[9:] == [429, 429], codes
        right = requests.get(url, auth=("guesser", PASSWORD), timeout=60)
        assert right.status_code == 429 and 0 < int(right.headers["Retry-After"]) <= 300
        assert right.content[:4] != b"SIMP"
        with engine.begin() as conn:
            audit = conn.execute(text(
                "SELECT new_value FROM qc.audit_log WHERE action = 'login_throttled' "
                "AND actor = 'guesser'")).scalars().all()
            assert [a["channel"] for a in audit] == ["vo"]
            conn.execute(text("UPDATE qc.login_failures SET at = at - interval '6 min' "
                              "WHERE username = 'guesser'"))   # the window has passed
        back = requests.get(url, auth=("guesser", PASSWORD), timeout=60)
        assert back.status_code == 200 and back.content.startswith(b"SIMPLE  =")
    finally:
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM qc.login_failures WHERE username = 'guesser'"))
            conn.execute(text("UPDATE qc.users SET active = false WHERE username = 'guesser'"))
        sync_users(engine)
