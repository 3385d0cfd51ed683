"""Downloads from the viewer, for real: a simulated night catalogued with checksums, the
viewer served on a port, the generated script run by bash and curl, the archive
unpacked by tarfile. Nobody gets a file they may not see; the script holds no password."""

from __future__ import annotations

import hashlib
import io
import os
import re
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask
from sqlalchemy import Engine, create_engine, text
from support import fresh_database

from qcservice.config import Settings, load_settings
from qcservice.ingest.runner import ingest_paths
from qcservice.simulate import simulate_night
from qcservice.users import add_to_group, add_user
from qcservice.viewer import create_app
from qcservice.viewer.server import start_viewer

pytestmark = pytest.mark.slow
PASSWORD = "download-pw-1"
NIGHT = "2024-03-10"


@pytest.fixture(scope="module")
def world(pg_settings: Settings, tmp_path_factory) -> Iterator[dict]:
    """A night catalogued with checksums, one cube embargoed, the viewer served."""
    tmp = tmp_path_factory.mktemp("dl")
    simulate_night(tmp / "sim", NIGHT, scale="tiny", seed=3, workers=1)
    with fresh_database(pg_settings) as url:
        engine = create_engine(url)
        ingest_paths(engine, [tmp / "sim"], workers=1, checksum=True)
        with engine.begin() as conn:
            conn.execute(text("UPDATE qc.files SET release_date = '2020-01-01'"))
            secret = conn.execute(text(
                "UPDATE qc.files SET release_date = '2099-01-01', privilege = 1 "
                "WHERE filename = 'DATACUBE_FINAL_1.fits' "
                "RETURNING file_id, owner_group_id")).one()
            for name in ("member", "stranger"):
                add_user(conn, name, "reader", PASSWORD)
            group = conn.execute(text("SELECT name FROM qc.groups WHERE group_id = :g"),
                                 {"g": secret.owner_group_id}).scalar_one()
            add_to_group(conn, "member", group)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MUSEDC_")}
        settings = load_settings(env, home=str(tmp / "home"), database_url=url)
        app = create_app(settings, engine, {"TESTING": True})
        served = start_viewer(settings, port=0, app=app)
        try:
            yield {"app": app, "engine": engine, "url": served.url.rstrip("/"),
                   "secret": secret.file_id, "tmp": tmp}
        finally:
            served.stop()
            engine.dispose()


def _client(app: Flask, user: str):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post("/login", data={"username": user, "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302
    client.csrf = re.search(r'name="csrf_token" value="([^"]+)"',
                            client.get("/downloads").get_data(as_text=True)).group(1)
    return client


def _finals(engine: Engine) -> dict[str, dict]:
    with engine.connect() as conn:
        return {r.filename: dict(r._mapping) for r in conn.execute(text(
            "SELECT f.file_id, f.filename, f.checksum, f.size_bytes FROM qc.files f "
            "JOIN qc.products p USING (file_id) WHERE p.pro_catg IN "
            "('DATACUBE_FINAL', 'IMAGE_FOV', 'SPECTRUM_1D')"))}


def _sha(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def test_choice_lists_only_what_one_may_see(world: dict) -> None:
    finals = _finals(world["engine"])
    listed = {}
    for user in ("member", "stranger"):
        page = _client(world["app"], user).get(f"/downloads?start={NIGHT}&group=final")
        listed[user] = set(re.findall(r'<a href="/file/\d+">([^<]+)</a>', page.get_data(
            as_text=True)))
    assert listed["member"] == set(finals)
    assert listed["stranger"] == set(finals) - {"DATACUBE_FINAL_1.fits"}


def _script(world: dict, user: str, names: list[str]) -> str:
    """The script, asked for over HTTP from the served viewer (its own address inside)."""
    finals = _finals(world["engine"])
    web = requests.Session()
    page = web.get(world["url"] + "/login", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    web.post(world["url"] + "/login", data={"username": user, "password": PASSWORD,
                                            "csrf_token": token}, timeout=30)
    page = web.get(world["url"] + "/downloads", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    resp = web.post(world["url"] + "/downloads/script", timeout=30, data={
        "csrf_token": token, "file_id": [finals[n]["file_id"] for n in names]})
    assert resp.status_code == 200, resp.status_code
    assert resp.headers["Content-Type"].startswith("text/x-shellscript")
    assert world["url"] + "/files/" in resp.text
    return resp.text


def _run(script: str, dest: Path, home: Path, stdin: str = "",
         netrc: Path | None = None) -> subprocess.CompletedProcess:
    path = home / "get.sh"
    path.write_text(script)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home)}
    if netrc is not None:
        env["NETRC"] = str(netrc)
    return subprocess.run(["bash", str(path), str(dest)], input=stdin, capture_output=True,
                          text=True, env=env, timeout=300, check=False)


def test_script_with_netrc_resumes_and_verifies(world: dict, tmp_path: Path) -> None:
    finals = _finals(world["engine"])
    script = _script(world, "member", sorted(finals))
    assert PASSWORD not in script and " -u " not in script and "--user " not in script
    host = re.search(r"http://([^:/]+)", world["url"]).group(1)
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine {host} login member password {PASSWORD}\n")
    netrc.chmod(0o600)
    dest = tmp_path / "out"
    first = _run(script, dest, tmp_path, netrc=netrc)
    assert first.returncode == 0, first.stderr
    assert f"all {len(finals)} files complete and verified" in first.stdout
    assert {p.name for p in dest.iterdir()} == set(finals)
    for name, f in finals.items():
        assert _sha(dest / name) == f["checksum"], name
    # an interrupted state: a half-written part, a missing file, a corrupted one
    cube, image, spec = dest / "DATACUBE_FINAL_2.fits", dest / "IMAGE_FOV_1.fits", sorted(
        dest.glob("SPECTRUM_1D_*.fits"))[0]
    data = cube.read_bytes()
    cube.unlink()
    (dest / "DATACUBE_FINAL_2.fits.part").write_bytes(data[: len(data) // 2])
    image.unlink()
    spec.write_bytes(b"X" + spec.read_bytes()[1:])
    again = _run(script, dest, tmp_path, netrc=netrc)
    assert again.returncode == 0, again.stderr
    assert len(re.findall(r"^complete ", again.stdout, re.M)) == len(finals) - 3
    assert len(re.findall(r"^ok ", again.stdout, re.M)) == 3
    assert {p.name for p in dest.iterdir()} == set(finals)
    for name, f in finals.items():
        assert _sha(dest / name) == f["checksum"], name


def test_script_asks_for_the_password(world: dict, tmp_path: Path) -> None:
    script = _script(world, "member", ["DATACUBE_FINAL_1.fits", "IMAGE_FOV_1.fits"])
    wrong = _run(script, tmp_path / "a", tmp_path, stdin="not-the-password\n")
    assert wrong.returncode == 1 and "2 of 2 files FAILED" in wrong.stderr
    assert not any((tmp_path / "a").glob("*.fits"))
    right = _run(script, tmp_path / "b", tmp_path, stdin=PASSWORD + "\n")
    assert right.returncode == 0, right.stderr
    assert {p.name for p in (tmp_path / "b").iterdir()} == {"DATACUBE_FINAL_1.fits",
                                                            "IMAGE_FOV_1.fits"}


def test_nobody_gets_what_they_may_not_see(world: dict) -> None:
    secret = world["secret"]
    url = f"{world['url']}/files/{secret}/DATACUBE_FINAL_1.fits"
    assert requests.get(url, timeout=30).status_code == 401
    assert requests.get(url, auth=("member", "wrong"), timeout=30).status_code == 401
    assert requests.get(url, auth=("stranger", PASSWORD), timeout=30).status_code == 404
    browser = requests.get(url, headers={"Accept": "text/html"}, allow_redirects=False,
                           timeout=30)
    assert browser.status_code == 302 and "/login" in browser.headers["Location"]
    member = requests.get(url, auth=("member", PASSWORD), timeout=30)
    assert member.status_code == 200 and member.content[:6] == b"SIMPLE"
    resumed = requests.get(url, auth=("member", PASSWORD), headers={"Range": "bytes=100-"},
                           timeout=30)
    assert resumed.status_code == 206 and resumed.content == member.content[100:]
    stranger = _client(world["app"], "stranger")
    for action in ("script", "archive"):
        resp = stranger.post(f"/downloads/{action}", data={"csrf_token": stranger.csrf,
                                                           "file_id": [secret]})
        assert resp.status_code == 404, action
    no_csrf = stranger.post("/downloads/script", data={"file_id": [secret]})
    assert no_csrf.status_code == 400


def test_streamed_archive(world: dict) -> None:
    finals = _finals(world["engine"])
    client = _client(world["app"], "member")
    ids = [f["file_id"] for f in finals.values()]
    resp = client.post("/downloads/archive", data={"csrf_token": client.csrf, "file_id": ids})
    assert resp.status_code == 200 and resp.is_streamed
    body = resp.get_data()
    assert len(body) == int(resp.headers["Content-Length"])
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        got = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    sums = dict(reversed(line.split("  ")) for line in got.pop("SHA256SUMS").decode()
                .splitlines())
    assert set(sums) == set(got) == set(finals)
    for name, f in finals.items():
        digest = "sha256:" + hashlib.sha256(got[name]).hexdigest()
        assert digest == f["checksum"] == "sha256:" + sums[name]
    world["app"].config["ARCHIVE_MAX_BYTES"] = 10**6
    try:
        big = client.post("/downloads/archive", data={"csrf_token": client.csrf,
                                                      "file_id": ids})
        assert big.status_code == 413 and "take the download script" in big.get_data(
            as_text=True)
    finally:
        world["app"].config.pop("ARCHIVE_MAX_BYTES")
