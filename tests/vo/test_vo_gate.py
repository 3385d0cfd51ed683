"""The proxy's gate for /getproduct (qcservice/gate.py) decides exactly as DaCHS does:
for every published product and every kind of client (anonymous, member of the owner
group, stranger, wrong password), the gate's answer is DaCHS's own /getproduct status, and
when it lets the proxy send the file, it names the very file DaCHS serves."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import unquote

import pytest
import requests
from sqlalchemy import text
from vo_support import PASSWORD
from werkzeug.datastructures import Authorization

from qcservice.gate import PATH_HEADER, create_gate

CLIENTS = {"anonymous": None, "member": ("member", PASSWORD),
           "stranger": ("stranger", PASSWORD), "wrong password": ("member", "not-it")}


@pytest.fixture(scope="module")
def gate(vo_service):
    return create_gate(vo_service.engine).test_client()


def _ask(gate, uri: str, creds: tuple[str, str] | None):
    headers = {"X-Forwarded-Uri": uri}
    if creds is not None:
        headers["Authorization"] = Authorization("basic", {
            "username": creds[0], "password": creds[1]}).to_header()
    return gate.get("/gate/getproduct", headers=headers)


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("which", ["embargoed", "public", "spectrum", "failed"])
def test_gate_decides_as_dachs(vo_service, gate, client, which):
    ref = getattr(vo_service, which)
    creds = CLIENTS[client]
    dachs = requests.get(f"{vo_service.url}/getproduct/{ref}", auth=creds, timeout=60)
    answer = _ask(gate, f"/getproduct/{ref}", creds)
    if PATH_HEADER in answer.headers:      # the proxy would send the file itself
        assert answer.status_code == 200 and dachs.status_code == 200
        path = Path(unquote(answer.headers[PATH_HEADER]))
        assert hashlib.sha256(path.read_bytes()).digest() == \
            hashlib.sha256(dachs.content).digest()
    elif answer.status_code == 200:         # left to DaCHS (not a product it serves)
        assert dachs.status_code == 404, (which, client)
    else:                                   # refused: as DaCHS refuses
        assert answer.status_code in (401, 403)
        assert dachs.status_code in (401, 403), (which, client, dachs.status_code)
        if creds is None or client == "wrong password":
            assert answer.status_code == 401 and "WWW-Authenticate" in answer.headers
    expected_to_pass = which == "public" or (which != "failed" and client == "member")
    assert (PATH_HEADER in answer.headers) == expected_to_pass


def test_gate_leaves_previews_and_other_paths_to_dachs(vo_service, gate):
    for uri in (f"/getproduct/{vo_service.embargoed}?preview=True", "/tap/sync",
                "/getproduct/muse/../../etc/passwd", "/getproduct/elsewhere/1/x.fits"):
        answer = _ask(gate, uri, None)
        assert answer.status_code == 200 and PATH_HEADER not in answer.headers, uri


def test_gate_throttles_guessing_like_every_login_path(vo_service):
    """The gate checks passwords, so it is a login path: the shared policy (sql/040)
    applies, by the address the proxy reports. The names and the documentation-range
    addresses are the test's own, so no other test's account or address is throttled."""
    gate = create_gate(vo_service.engine, proxies=1).test_client()

    def ask(user: str, password: str, address: str):
        return gate.get("/gate/getproduct", headers={
            "X-Forwarded-Uri": f"/getproduct/{vo_service.embargoed}",
            "X-Forwarded-For": address,
            "Authorization": Authorization("basic", {"username": user,
                                                     "password": password}).to_header()})

    statuses = [ask("gate-guesser", f"guess-{i}", "192.0.2.7").status_code
                for i in range(12)]
    assert statuses[:9] == [401] * 9 and set(statuses[9:]) == {429}
    again = ask("gate-guesser", "guess-x", "192.0.2.99")    # the account, from elsewhere
    assert again.status_code == 429 and int(again.headers["Retry-After"]) > 0
    member = ask("member", PASSWORD, "192.0.2.8")            # others are not kept out
    assert member.status_code == 200 and PATH_HEADER in member.headers
    with vo_service.engine.connect() as conn:
        audit = conn.execute(text(
            "SELECT new_value->>'channel' FROM qc.audit_log WHERE actor = 'gate-guesser' "
            "AND action = 'login_throttled'")).scalars().all()
    assert audit == ["gate"]
