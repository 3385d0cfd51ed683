"""``musedc users`` and ``musedc viewer``: accounts in the database, and the demo's viewer."""

from __future__ import annotations

import urllib.request

from click.testing import CliRunner
from sqlalchemy import create_engine, text

from qcservice.cli import main
from qcservice.users import authenticate
from qcservice.viewer.server import start_demo_viewer


def _run(env: dict, *args: str, stdin: str | None = None):
    result = CliRunner().invoke(main, list(args), env=env, input=stdin, prog_name="musedc")
    return result


def test_users_lifecycle(cli_env, db_url):
    assert _run(cli_env, "users", "add", "carol", "--role", "qc_scientist",
                "--password-stdin", stdin="first password\n").exit_code == 0
    again = _run(cli_env, "users", "add", "carol", "--password-stdin", stdin="x" * 9 + "\n")
    assert again.exit_code != 0 and "exists already" in again.output
    short = _run(cli_env, "users", "add", "dave", "--password-stdin", stdin="short\n")
    assert short.exit_code != 0 and "8 characters" in short.output
    assert _run(cli_env, "users", "passwd", "carol", "--password-stdin",
                stdin="second password\n").exit_code == 0
    assert _run(cli_env, "users", "group", "add", "carol", "PROG-B").exit_code == 0
    listed = _run(cli_env, "users", "list").output
    assert "carol" in listed and "qc_scientist" in listed and "PROG-B" in listed
    assert "PROG-B" in _run(cli_env, "users", "groups").output
    assert _run(cli_env, "users", "group", "remove", "carol", "PROG-B").exit_code == 0
    engine = create_engine(db_url)
    with engine.connect() as conn:
        digest = conn.execute(text("SELECT password_hash FROM qc.users "
                                   "WHERE username = 'carol'")).scalar_one()
        assert digest.startswith("scrypt:") and "second password" not in digest
        assert authenticate(conn, "carol", "second password").groups == ()
        assert authenticate(conn, "carol", "first password") is None
    engine.dispose()


def test_users_role_activity_and_groups_say_what_they_did(cli_env, db_url):
    assert _run(cli_env, "users", "add", "erin", "--password-stdin",
                stdin="erin's password\n").exit_code == 0
    for args, said in ((("role", "erin", "admin"), "erin is now admin\n"),
                       (("deactivate", "erin"), "erin deactivated\n"),
                       (("group", "add", "erin", "PROG-C"), "erin is in PROG-C\n")):
        result = _run(cli_env, "users", *args)
        assert result.exit_code == 0 and result.output == said, (args, result.output)
    assert "erin " in _run(cli_env, "users", "list").output
    assert "(inactive)" in _run(cli_env, "users", "list").output
    engine = create_engine(db_url)
    with engine.connect() as conn:
        assert authenticate(conn, "erin", "erin's password") is None   # inactive
    assert _run(cli_env, "users", "activate", "erin").output == "erin activated\n"
    assert _run(cli_env, "users", "group", "remove", "erin", "PROG-C").output == \
        "erin left PROG-C\n"
    bad = _run(cli_env, "users", "role", "erin", "emperor")
    assert bad.exit_code == 2 and "emperor" in bad.output
    with engine.connect() as conn:
        user = authenticate(conn, "erin", "erin's password")
        assert user is not None and user.role == "admin" and user.groups == ()
    engine.dispose()


def test_demo_viewer_serves_and_logs_in(settings, engine):
    demo = start_demo_viewer(settings, port=0)
    try:
        with urllib.request.urlopen(demo.url + "login") as resp:
            assert resp.status == 200 and b"Log in" in resp.read()
        with engine.connect() as conn:
            user = authenticate(conn, demo.username, demo.password)
        assert user is not None and user.may_validate and "GTO" in user.groups
    finally:
        demo.stop()
    assert (settings.home / "viewer-demo-password").read_text().strip() == demo.password
