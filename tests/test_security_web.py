"""The viewer under a real gunicorn, and DaCHS, facing hostile headers and a stopped
PostgreSQL (issue #16, items 6 and 7): a download script points to the configured public
URL whatever X-Forwarded-Host says; with the database down the viewer answers 503 with a
page that says so and Retry-After, DaCHS an error without internal paths, and both
recover by themselves when PostgreSQL is back."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, text
from support import free_port, open_tempdir
from test_docker import health_command, service, wait_healthy
from test_gunicorn import PASSWORD, VIEWER_URL, _argv, _env

from qcservice.config import Settings, load_settings
from qcservice.db.cluster import EmbeddedCluster
from qcservice.db.engine import make_engine
from qcservice.ingest.runner import ingest_paths
from qcservice.users import add_user
from qcservice.vo.config import load_vo_config
from qcservice.vo.instance import Instance
from qcservice.vo.server import serve, stop

pytestmark = pytest.mark.slow



@contextlib.contextmanager
def viewer(env: dict[str, str], log: Path) -> Iterator[str]:
    """The compose viewer command (gunicorn, production mode) on a free port."""
    port = free_port()
    with service(_argv(port), env, log) as proc:
        wait_healthy(health_command("viewer", {"127.0.0.1:8000": f"127.0.0.1:{port}"}),
                     proc, log, 60)
        yield f"http://127.0.0.1:{port}"


def log_in(url: str, headers: dict[str, str] | None = None) -> requests.Session:
    """A session of alice; its cookies are sent by hand: production marks them Secure,
    which requests would keep from plain http."""
    session = requests.Session()
    session.headers.update(headers or {})
    page = session.get(f"{url}/login", timeout=30)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    resp = session.post(f"{url}/login", allow_redirects=False, timeout=30, data={
        "username": "alice", "password": PASSWORD, "csrf_token": token},
        headers={"Cookie": f"musedc_login_csrf={token}"})
    assert resp.status_code == 302, resp.text
    cookie = resp.raw.headers.getlist("Set-Cookie")
    value = next(c.split(";")[0] for c in cookie if c.startswith("musedc_session="))
    session.cookies.clear()
    session.headers["Cookie"] = value
    return session


def test_download_script_ignores_a_forged_host(cli_env, engine, minicube, tmp_path):
    """MUSEDC_VIEWER_PROXIES=1 and a client's own X-Forwarded-Host reaching gunicorn."""
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(minicube, data / "minicube.fits")
    ingest_paths(engine, [data], workers=1, checksum=False)
    with engine.begin() as conn:
        add_user(conn, "alice", "admin", PASSWORD)
        fid = conn.execute(text("SELECT file_id FROM qc.files")).scalar_one()
    forged = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}
    with viewer(_env(cli_env), tmp_path / "gunicorn.log") as url:
        session = log_in(url, forged)
        page = session.get(f"{url}/downloads", timeout=30)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        script = session.post(f"{url}/downloads/script", timeout=30, data={
            "file_id": [str(fid)], "csrf_token": token})
    assert script.status_code == 200, script.text[:500]
    assert "evil.example" not in script.text
    assert f"{VIEWER_URL}files/{fid}/minicube.fits" in script.text


@pytest.fixture
def own_cluster() -> Iterator[Settings]:
    """A PostgreSQL of this test's own, which it may stop (not the session's)."""
    home = open_tempdir("musedc-outage-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSEDC_")}
    settings = load_settings(env, home=str(home / "home"), pg_port=free_port())
    make_engine(settings).dispose()   # started and migrated
    yield settings
    EmbeddedCluster(settings).stop()
    shutil.rmtree(home, ignore_errors=True)


@pytest.mark.dachs   # with a PostgreSQL of its own: set by hand, no shared fixture
def test_outage_is_clean_and_recovers(own_cluster, tmp_path):
    settings = own_cluster
    cluster = EmbeddedCluster(settings)
    engine = create_engine(cluster.url())
    with engine.begin() as conn:
        add_user(conn, "alice", "qc_scientist", PASSWORD)
    engine.dispose()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MUSEDC_", "FLASK_"))}
    env.update(MUSEDC_HOME=str(settings.home), MUSEDC_PG_PORT=str(settings.pg_port))
    vo = load_vo_config(settings, env, port=free_port())
    inst = Instance(vo)
    inst.init()
    serve(inst)
    tap = (f"{vo.local_url}/tap/sync?LANG=ADQL&REQUEST=doQuery"
           "&QUERY=SELECT+TOP+1+table_name+FROM+tap_schema.tables")
    internal = (str(cluster.socket_dir), ".s.PGSQL", "pg_hba", str(settings.home))
    try:
        with viewer(_env(env), tmp_path / "gunicorn.log") as url:
            session = log_in(url)
            assert session.get(f"{url}/", timeout=30).status_code == 200
            assert requests.get(tap, timeout=60).status_code == 200
            cluster.stop()
            for page in ("/", "/jobs", "/login"):
                down = session.get(f"{url}{page}", timeout=60)
                assert down.status_code == 503, (page, down.status_code)
                assert "catalogue is unreachable" in down.text
                assert int(down.headers["Retry-After"]) > 0
                assert not any(word in down.text for word in internal), down.text
            for _ in range(2):   # a stale pooled connection first, then a new one
                refused = requests.get(tap, timeout=60)
                assert refused.status_code != 200 or "ERROR" in refused.text
                assert not any(word in refused.text for word in internal), refused.text
            product = requests.get(f"{vo.local_url}/getproduct/muse/1/x.fits", timeout=60)
            assert not any(word in product.text for word in internal), product.text
            assert "unreachable" in refused.text + product.text
            cluster.start()
            assert session.get(f"{url}/", timeout=30).status_code == 200   # same session
            deadline = time.monotonic() + 30   # DaCHS drops its broken pooled connections
            while requests.get(tap, timeout=60).status_code != 200:
                assert time.monotonic() < deadline, "DaCHS did not recover"
                time.sleep(1)
    finally:
        stop(inst)
