"""The stack's own paths to an embargoed file: the viewer's file routes behind the proxy
(bytes sent by Caddy after the viewer decided), and the login throttle at the gate, which
checks passwords for /getproduct before DaCHS sees the request."""

from __future__ import annotations

import re

import requests

_BYTES = (b"SIMPLE  =", b"\x89PNG")


def _login(stack: dict, username: str) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{stack['viewer']}/login", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    done = session.post(f"{stack['viewer']}/login", data={
        "username": username, "password": stack["password"], "csrf_token": token},
        allow_redirects=False, timeout=30)
    assert done.status_code == 302, (username, done.status_code)
    return session


def _file_routes(stack: dict) -> list[str]:
    emb = stack["embargoed"]
    base = stack["viewer"]
    return [f"{base}/files/{emb['file_id']}/{emb['filename']}", f"{base}/file/{emb['file_id']}",
            f"{base}/cube/{emb['file_id']}",
            *(f"{base}/image/{i}" for i in stack["images"])]


def test_viewer_file_routes_guard_the_embargoed_cube(stack):
    urls = _file_routes(stack)
    assert len(urls) > 3, "QC made no image of the embargoed cube?"
    stranger, member = _login(stack, "stranger"), _login(stack, "member")
    for url in urls:
        anonymous = requests.get(url, allow_redirects=False, timeout=60)
        assert anonymous.status_code in (302, 401), (url, anonymous.status_code)
        assert anonymous.status_code == 401 or "/login" in anonymous.headers["Location"]
        refused = stranger.get(url, allow_redirects=False, timeout=60)
        assert refused.status_code in (403, 404), (url, refused.status_code)
        for resp in (anonymous, refused):
            assert not resp.content.startswith(_BYTES), url
        got = member.get(url, timeout=60)
        assert got.status_code == 200 and got.content, (url, got.status_code)
    first = member.get(urls[0], headers={"Range": "bytes=0-8"}, timeout=60)
    assert first.status_code == 206 and first.content == b"SIMPLE  ="   # sent by Caddy


def test_basic_auth_on_the_viewers_files(stack):
    url = _file_routes(stack)[0]
    assert requests.get(url, auth=("stranger", stack["password"]), timeout=60
                        ).status_code == 404
    got = requests.get(url, auth=("member", stack["password"]), timeout=60)
    assert got.status_code == 200 and got.content.startswith(b"SIMPLE  =")


def test_guessing_a_password_at_the_gate_is_throttled(stack):
    """'guesser' (a member of the owner group, made by deploy-check.sh for this test):
    ten wrong passwords on /getproduct, then the right one is refused too, with
    Retry-After, on the gate's path, on DaCHS's SODA and on the viewer's files."""
    url = f"{stack['vo']}/getproduct/{stack['embargoed']['accref']}"
    codes = [requests.get(url, auth=("guesser", f"guess-{i}"), timeout=60).status_code
             for i in range(11)]
    assert all(c in (401, 403) for c in codes[:9]) and codes[9:] == [429, 429], codes
    right = ("guesser", stack["password"])
    refused = requests.get(url, auth=right, timeout=60)
    assert refused.status_code == 429 and 0 < int(refused.headers["Retry-After"]) <= 300
    assert not refused.content.startswith(_BYTES)
    soda = requests.get(f"{stack['vo']}/muse/q/dl/dlget", auth=right, timeout=60, params={
        "ID": f"ivo://{stack['authority']}/~?{stack['embargoed']['accref']}",
        "BAND": "6.0e-7 6.1e-7"})
    assert soda.status_code == 429 and not soda.content.startswith(_BYTES)
    files = requests.get(_file_routes(stack)[0], auth=right, timeout=60)
    assert files.status_code == 429 and not files.content.startswith(_BYTES)
