"""The viewer in production: docker/compose.yaml's gunicorn command, run for real against
the test database. Every cookie is Secure, HttpOnly and SameSite; there is no debugger and
an error shows no traceback; the proxy's X-Forwarded-For reaches the access log; a wrong
production setting stops gunicorn at once with the setting's name."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import flask
import pytest
import requests
from sqlalchemy import text
from support import free_port
from test_docker import compose_command, health_command, service, wait_healthy

from qcservice.config import ConfigError
from qcservice.users import add_user
from qcservice.viewer.wsgi import production_app, production_config

VO_URL = "https://vo.musedc.example.org/"
VIEWER_URL = "https://musedc.example.org/"
PASSWORD = "correct horse battery"


def _env(cli_env: dict[str, str], **extra: str) -> dict[str, str]:
    env = {k: v for k, v in cli_env.items() if not k.startswith("FLASK_")}
    env.update(MUSEDC_VO_URL=VO_URL, MUSEDC_VIEWER_URL=VIEWER_URL, MUSEDC_VIEWER_PROXIES="1")
    env.update(extra)
    return env


def _argv(port: int) -> list[str]:
    return compose_command("viewer", {"0.0.0.0:8000": f"127.0.0.1:{port}"})


@pytest.fixture
def gunicorn(cli_env, engine, tmp_path) -> Iterator[tuple[str, Path]]:
    """The compose viewer command on a free port; yields its URL and its log."""
    with engine.begin() as conn:
        add_user(conn, "alice", "qc_scientist", PASSWORD)
    port = free_port()
    log = tmp_path / "gunicorn.log"
    with service(_argv(port), _env(cli_env), log) as proc:
        health = health_command("viewer", {"127.0.0.1:8000": f"127.0.0.1:{port}"})
        wait_healthy(health, proc, log, 60)
        yield f"http://127.0.0.1:{port}", log


def _cookies(resp: requests.Response) -> dict[str, tuple[str, set[str]]]:
    """Set-Cookie headers of a response: name -> (value, lower-cased attributes)."""
    found = {}
    for header in resp.raw.headers.getlist("Set-Cookie"):
        first, *attrs = [part.strip() for part in header.split(";")]
        name, value = first.split("=", 1)
        found[name] = (value, {a.lower() for a in attrs})
    return found


def _log_in(url: str) -> str:
    page = requests.get(f"{url}/login", allow_redirects=False, timeout=30)
    assert page.status_code == 200 and "Log in" in page.text
    assert page.headers["Server"].startswith("gunicorn")
    csrf, attrs = _cookies(page)["musedc_login_csrf"]
    assert {"secure", "httponly", "samesite=strict"} <= attrs
    resp = requests.post(f"{url}/login", allow_redirects=False, timeout=30,
                         data={"username": "alice", "password": PASSWORD, "csrf_token": csrf},
                         headers={"Cookie": f"musedc_login_csrf={csrf}",
                                  "X-Forwarded-For": "203.0.113.9",
                                  "X-Forwarded-Proto": "https"})
    assert resp.status_code == 302, resp.text
    token, attrs = _cookies(resp)["musedc_session"]
    assert {"secure", "httponly", "samesite=lax"} <= attrs
    return token


@pytest.mark.slow
def test_viewer_under_gunicorn_in_production_mode(gunicorn, engine):
    url, log = gunicorn
    token = _log_in(url)
    session = {"Cookie": f"musedc_session={token}"}
    links = requests.get(f"{url}/links", headers=session, timeout=30)
    assert links.status_code == 200 and f"{VO_URL}tap" in links.text
    console = requests.get(f"{url}/console", headers=session, timeout=30)
    assert console.status_code == 404 and "Werkzeug" not in console.text
    resource = requests.get(f"{url}/?__debugger__=yes&cmd=resource&f=debugger.js",
                            headers=session, timeout=30)
    assert "EVALEX" not in resource.text   # what werkzeug's debugger.js would hold

    with engine.begin() as conn:   # a page whose query fails: 500, and no traceback
        conn.execute(text("ALTER TABLE qc.job_runs RENAME TO job_runs_hidden"))
    broken = requests.get(f"{url}/jobs", headers=session, timeout=30)
    assert broken.status_code == 500
    assert "Traceback" not in broken.text and "job_runs" not in broken.text

    logged = log.read_text()
    assert re.search(r"^203\.0\.113\.9 .*\"POST /login", logged, re.M), logged[-2000:]
    assert re.search(r"^127\.0\.0\.1 .*\"GET /links", logged, re.M)
    assert "job_runs" in logged   # the traceback went to the operator's log


@pytest.mark.parametrize(("extra", "message"), [
    ({"FLASK_DEBUG": "1"}, "FLASK_DEBUG='1': the production viewer never runs in debug"),
    ({"MUSEDC_VO_URL": ""}, "MUSEDC_VO_URL is not set"),
    ({"MUSEDC_VO_URL": "vo.example.org"}, "MUSEDC_VO_URL='vo.example.org' is not an http"),
    ({"MUSEDC_VIEWER_URL": ""}, "MUSEDC_VIEWER_URL is not set"),
    ({"MUSEDC_VIEWER_PROXIES": "all"}, "MUSEDC_VIEWER_PROXIES='all': give the number"),
])
@pytest.mark.slow
def test_a_wrong_production_setting_stops_gunicorn(cli_env, extra, message):
    proc = subprocess.run(_argv(free_port()), env=_env(cli_env, **extra), timeout=120,
                          capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert proc.returncode != 0
    assert message in proc.stdout + proc.stderr


def test_production_app_signs_nothing_and_never_debugs(cli_env):
    env = _env(cli_env)
    app = production_app(env)
    try:
        assert app.debug is False and app.secret_key is None
        assert app.config["SESSION_COOKIE_SECURE"] is True
        with app.test_request_context("/"), pytest.raises(RuntimeError, match="secret key"):
            flask.session["x"] = 1   # no random per-process key signs anything
        assert production_config({**env, "MUSEDC_VO_URL": "https://vo.example.org"})[
            "VO_URL"] == "https://vo.example.org/"
        assert production_config({**env, "MUSEDC_VIEWER_PROXIES": "0"})["TRUSTED_PROXIES"] == 0
        with pytest.raises(ConfigError, match="MUSEDC_VIEWER_PROXIES='9'"):
            production_config({**env, "MUSEDC_VIEWER_PROXIES": "9"})
    finally:
        app.extensions["musedc_engine"].dispose()
