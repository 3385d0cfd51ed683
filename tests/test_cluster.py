"""The embedded PostgreSQL: a real cluster created, started, stopped and described."""

from __future__ import annotations

import os
import shutil
import stat

import psycopg2
import pytest
from click.testing import CliRunner
from support import free_port, open_tempdir

from qcservice.cli import main
from qcservice.config import Settings, load_settings
from qcservice.db.cluster import EmbeddedCluster

pytestmark = pytest.mark.db   # some start clusters of their own


def test_session_cluster_is_a_real_postgresql_with_pgsphere(pg_settings: Settings) -> None:
    cluster = EmbeddedCluster(pg_settings)
    state = cluster.status()
    assert state.running and state.port == pg_settings.pg_port != 5432
    conn = psycopg2.connect(host=str(cluster.socket_dir), port=pg_settings.pg_port,
                            user="musedc", password=cluster.password(), dbname="musedc")
    with conn, conn.cursor() as cur:
        cur.execute("SHOW server_version_num")
        assert int(cur.fetchone()[0]) // 10000 == 15
        cur.execute("SELECT extname FROM pg_extension ORDER BY 1")
        assert {"pg_sphere", "q3c"} <= {r[0] for r in cur.fetchall()}
        cur.execute("SELECT spoint(radians(10), radians(20)) <-> spoint(radians(10), "
                    "radians(21))")
        assert abs(cur.fetchone()[0] - 0.0174533) < 1e-6   # 1 degree, pgSphere for real
    conn.close()
    assert stat.S_IMODE(cluster.password_file.stat().st_mode) == 0o600


def test_server_runs_unprivileged_and_refuses_wrong_password(pg_settings: Settings) -> None:
    cluster = EmbeddedCluster(pg_settings)
    pid = cluster.status().pid
    owner = os.stat(f"/proc/{pid}").st_uid
    if os.geteuid() == 0:
        assert owner != 0, "PostgreSQL must not run as root"
    else:
        assert owner == os.geteuid()
    try:
        psycopg2.connect(host="127.0.0.1", port=pg_settings.pg_port, user="musedc",
                         password="wrong", dbname="musedc")
    except psycopg2.OperationalError as exc:
        assert "password authentication failed" in str(exc)
    else:
        raise AssertionError("a wrong password was accepted")


def test_cli_lifecycle_start_status_stop() -> None:
    home = open_tempdir("musedc-life-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSEDC_")}
    env.update(MUSEDC_HOME=str(home), MUSEDC_PG_PORT=str(free_port()))
    runner = CliRunner()
    try:
        result = runner.invoke(main, ["db", "status"], env=env)
        assert result.exit_code == 1 and "absent" in result.output
        result = runner.invoke(main, ["db", "start"], env=env)
        assert result.exit_code == 0, result.output
        assert "started" in result.output
        assert runner.invoke(main, ["db", "start"], env=env).output.startswith("already")
        result = runner.invoke(main, ["db", "status"], env=env)
        assert result.exit_code == 0, result.output
        assert "running" in result.output and "schema qc absent" in result.output
        result = runner.invoke(main, ["db", "migrate"], env=env)
        assert "applied 001_qc_core.sql" in result.output
        assert "up to date" in runner.invoke(main, ["db", "migrate"], env=env).output
        result = runner.invoke(main, ["db", "stop"], env=env)
        assert result.exit_code == 0 and "stopped" in result.output
        settings = load_settings(env)
        assert not EmbeddedCluster(settings).status().running
        result = runner.invoke(main, ["db", "status"], env=env)
        assert result.exit_code == 1 and "stopped" in result.output
    finally:
        EmbeddedCluster(load_settings(env)).stop()
        shutil.rmtree(home, ignore_errors=True)


def test_external_url_is_not_managed(db_url: str) -> None:
    result = CliRunner().invoke(main, ["db", "start"], env={"MUSEDC_DATABASE_URL": db_url})
    assert result.exit_code != 0 and "external" in result.output


@pytest.mark.slow
def test_other_mode_of_running() -> None:
    """As root, an ordinary user runs its own cluster too (as that user, no service user);
    as an ordinary user the session cluster above already is that case."""
    if os.geteuid() != 0:
        assert EmbeddedCluster(load_settings({"MUSEDC_HOME": "/tmp"}))._server_user() is None
        return
    import pwd
    import subprocess
    import sys

    user = pwd.getpwnam("musedc")
    home = open_tempdir("musedc-user-")
    os.chown(home, user.pw_uid, user.pw_gid)
    env = {"PATH": os.environ["PATH"], "HOME": str(home), "MUSEDC_HOME": str(home),
           "MUSEDC_PG_PORT": str(free_port())}
    run = [sys.executable, "-m", "qcservice"]
    try:
        proc = subprocess.run([*run, "db", "start"], env=env, user=user.pw_uid,
                              group=user.pw_gid, extra_groups=[], capture_output=True,
                              text=True, timeout=120, cwd=str(home))
        assert proc.returncode == 0, proc.stderr
        pid = int((home / "pg" / "data" / "postmaster.pid").read_text().split()[0])
        assert os.stat(f"/proc/{pid}").st_uid == user.pw_uid
        as_user = {"env": env, "user": user.pw_uid, "group": user.pw_gid, "extra_groups": [],
                   "capture_output": True, "text": True, "timeout": 120, "cwd": str(home)}
        migrate = subprocess.run([*run, "db", "migrate"], **as_user)
        assert migrate.returncode == 0 and "applied 001_qc_core.sql" in migrate.stdout
        status = subprocess.run([*run, "db", "status"], **as_user)
        assert status.returncode == 0 and "schema qc at migration" in status.stdout
    finally:
        subprocess.run([*run, "db", "stop"], env=env, user=user.pw_uid, group=user.pw_gid,
                       extra_groups=[], capture_output=True, timeout=120, cwd=str(home))
        shutil.rmtree(home, ignore_errors=True)


def test_port_taken_is_named_and_a_later_start_recovers() -> None:
    import socket

    home = open_tempdir("musedc-port-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSEDC_")}
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    env.update(MUSEDC_HOME=str(home), MUSEDC_PG_PORT=str(port))
    runner = CliRunner()
    try:
        result = runner.invoke(main, ["db", "start"], env=env)
        assert result.exit_code == 1
        assert f"port {port} is taken by another server" in result.output
        assert "Traceback" not in result.output
        blocker.close()
        result = runner.invoke(main, ["db", "migrate"], env=env)   # starts it, then migrates
        assert result.exit_code == 0, result.output
        assert "applied 001_qc_core.sql" in result.output
    finally:
        blocker.close()
        EmbeddedCluster(load_settings(env)).stop()
        shutil.rmtree(home, ignore_errors=True)
