"""The embedded PostgreSQL 15 cluster: one data directory of the project's own.

With no ``MUSEDC_DATABASE_URL`` the data centre runs its own server under
``$MUSEDC_HOME/pg``: a private Unix socket directory, a loopback-only TCP port (not 5432,
so a system server is never disturbed) and password (SCRAM) authentication for the
generated role ``musedc``. PostgreSQL refuses to run as root, so when we are root the
server runs as an unprivileged system user (``service_user``) that owns the data
directory; the password file stays readable by the invoking user only.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from qcservice import filemodes
from qcservice.config import Settings
from qcservice.errors import MusedcError
from qcservice.serviceuser import service_account, switch_kwargs

DB_NAME = "musedc"
DB_ROLE = "musedc"
_SOCKET_LIMIT = 100  # sun_path is 108 bytes; ".s.PGSQL.NNNNN" takes 15 of them


def _write_secret(path: Path, content: str) -> None:
    """Write ``content`` to a file no other account could read at any moment."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(content)


class ClusterError(MusedcError, RuntimeError):
    """The embedded cluster cannot be created, started or reached."""


@dataclass(frozen=True)
class ClusterStatus:
    initialised: bool
    running: bool
    pid: int | None
    port: int
    data_dir: Path
    socket_dir: Path
    log_file: Path

    def describe(self) -> str:
        state = "running" if self.running else ("stopped" if self.initialised else "absent")
        pid = f" (pid {self.pid})" if self.pid else ""
        return (f"embedded PostgreSQL: {state}{pid}\n  data   {self.data_dir}\n"
                f"  socket {self.socket_dir}\n  port   {self.port} (127.0.0.1)\n"
                f"  log    {self.log_file}")


class EmbeddedCluster:
    """Create, start, stop and describe the project's own PostgreSQL cluster."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.pg_dir
        self.data_dir = self.root / "data"
        self.socket_dir = self.root / "run"
        self.log_file = self.root / "log" / "postgres.log"
        self.password_file = self.root / "password"

    # --- who runs the server -------------------------------------------------------
    def _server_user(self) -> pwd.struct_passwd | None:
        """The account that runs the server, or None for the current user."""
        return service_account(self.settings.service_user, "PostgreSQL", ClusterError)

    def _run(self, args: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        kwargs = switch_kwargs(self._server_user())
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        proc = subprocess.run(args, capture_output=True, text=True, env=env, cwd="/",
                              check=False, **kwargs)  # type: ignore[arg-type]
        if check and proc.returncode != 0:
            raise ClusterError(f"{Path(args[0]).name} failed ({proc.returncode}): "
                               f"{(proc.stderr or proc.stdout).strip()}\nlog: {self.log_file}")
        return proc

    def _bin(self, name: str) -> str:
        path = self.settings.pg_bin / name
        if not path.exists():
            raise ClusterError(f"{path} not found: install PostgreSQL 15 (scripts/setup.sh) "
                               f"or set MUSEDC_PG_BIN")
        return str(path)

    def _prepare_dirs(self) -> None:
        user = self._server_user()
        for d in (self.root, self.data_dir, self.socket_dir, self.log_file.parent):
            d.mkdir(parents=True, exist_ok=True)
        os.chmod(self.data_dir, 0o700)
        if user is None:
            return
        for d in (self.data_dir, self.socket_dir, self.log_file.parent):
            os.chown(d, user.pw_uid, user.pw_gid)
        os.chmod(self.root, 0o711)   # the server user passes through; nobody lists
        probe = self._run(["/usr/bin/test", "-w", str(self.data_dir)], check=False)
        if probe.returncode != 0:
            raise ClusterError(
                f"the server user {user.pw_name!r} cannot reach {self.data_dir}: a parent "
                f"directory is closed to it (e.g. /root is mode 700). Choose a MUSEDC_HOME "
                f"that other users may traverse, such as /var/lib/musedc or the checkout")

    # --- life cycle ----------------------------------------------------------------
    def status(self) -> ClusterStatus:
        pid = None
        initialised = (self.data_dir / "PG_VERSION").exists()
        pidfile = self.data_dir / "postmaster.pid"
        if initialised and pidfile.exists():
            try:
                pid = int(pidfile.read_text().split("\n", 1)[0])
                os.kill(pid, 0)
            except (ValueError, ProcessLookupError, PermissionError, OSError):
                pid = None
        return ClusterStatus(initialised, pid is not None, pid, self.settings.pg_port,
                             self.data_dir, self.socket_dir, self.log_file)

    def init(self) -> bool:
        """Create the cluster if it does not exist. Returns True when it was created."""
        if (self.data_dir / "PG_VERSION").exists():
            return False
        if len(str(self.socket_dir)) > _SOCKET_LIMIT:
            raise ClusterError(f"socket directory path too long for a Unix socket "
                               f"({len(str(self.socket_dir))} > {_SOCKET_LIMIT} characters): "
                               f"{self.socket_dir}; choose a shorter MUSEDC_HOME")
        self._prepare_dirs()
        filemodes.tighten(self.settings)
        password = secrets.token_urlsafe(24)
        _write_secret(self.password_file, password + "\n")
        user = self._server_user()
        pwfile = self.root / ".initdb-pw"
        _write_secret(pwfile, password + "\n")
        try:
            if user is not None:
                os.chown(pwfile, user.pw_uid, user.pw_gid)
            os.chmod(pwfile, 0o600)
            self._run([self._bin("initdb"), "-D", str(self.data_dir), "-U", DB_ROLE,
                       "--pwfile", str(pwfile), "--auth-local=scram-sha-256",
                       "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C"])
        except ClusterError:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.password_file.unlink(missing_ok=True)
            raise
        finally:
            pwfile.unlink(missing_ok=True)
        return True

    def _write_conf(self) -> None:
        conf = self.data_dir / "postgresql.auto.conf"
        lines = [
            "# written by musedc on every start; edit the MUSEDC_* settings instead",
            f"port = {self.settings.pg_port}",
            "listen_addresses = '127.0.0.1'",
            f"unix_socket_directories = '{self.socket_dir}'",
            "unix_socket_permissions = 0777",
            "max_connections = 100",
            "shared_buffers = '256MB'",
            "logging_collector = off",
            # short catalogue and VO queries: JIT compiling costs more than it saves
            # (700 ms for a two-row ObsCore cone that DaCHS runs with enable_seqscan off)
            "jit = off",
        ]
        user = self._server_user()
        conf.write_text("\n".join(lines) + "\n")
        if user is not None:
            os.chown(conf, user.pw_uid, user.pw_gid)

    def start(self, timeout: float = 60) -> bool:
        """Initialise if needed and start; returns True when this call started it."""
        self.init()
        if self.status().running:
            return False
        self._prepare_dirs()
        self._write_conf()
        try:
            self._run([self._bin("pg_ctl"), "-D", str(self.data_dir), "-l",
                       str(self.log_file), "-w", "-t", str(int(timeout)), "start"])
        except ClusterError as exc:
            if "Address already in use" in self._log_tail():
                raise ClusterError(f"port {self.settings.pg_port} is taken by another "
                                   f"server: choose a free one with MUSEDC_PG_PORT") from exc
            raise
        self._create_database()  # also after a first start that failed half-way
        return True

    def _log_tail(self, size: int = 4000) -> str:
        try:
            with self.log_file.open("rb") as fh:
                fh.seek(max(0, fh.seek(0, 2) - size))
                return fh.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self) -> bool:
        """Stop the server (fast shutdown); returns True when it was running."""
        if not self.status().running:
            return False
        self._run([self._bin("pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"])
        return True

    def _create_database(self) -> None:
        import psycopg2

        conn = psycopg2.connect(host=str(self.socket_dir), port=self.settings.pg_port,
                                user=DB_ROLE, password=self.password(), dbname="postgres")
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,))
                if cur.fetchone() is None:
                    cur.execute(f'CREATE DATABASE "{DB_NAME}"')
        finally:
            conn.close()

    # --- how to connect ------------------------------------------------------------
    def password(self) -> str:
        try:
            return self.password_file.read_text().strip()
        except FileNotFoundError:
            raise ClusterError(f"no password file {self.password_file}: the embedded "
                               f"cluster was not created by musedc ('musedc db start')") from None

    def url(self, database: str = DB_NAME) -> str:
        """SQLAlchemy URL over the private Unix socket."""
        return (f"postgresql+psycopg2://{DB_ROLE}:{quote(self.password(), safe='')}@/"
                f"{database}?host={quote(str(self.socket_dir))}&port={self.settings.pg_port}")

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            proc = self._run([self._bin("pg_isready"), "-q", "-h", str(self.socket_dir),
                              "-p", str(self.settings.pg_port)], check=False)
            if proc.returncode == 0:
                return
            time.sleep(0.2)
        raise ClusterError(f"PostgreSQL did not become ready in {timeout:.0f} s; "
                           f"see {self.log_file}")
