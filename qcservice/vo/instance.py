"""The DaCHS instance: a generated gavo.rc under ``$MUSEDC_HOME/vo``, the files it needs,
and the ``dachs`` command run with them.

DaCHS runs under Debian's ``/usr/bin/python3`` (python3-gavo), never in our virtual
environment: we only write its files and run its command, as the unprivileged service user
when we are root (like PostgreSQL). It uses the same database as the qc schema; ``dachs
init`` creates its roles (gavoadmin, gavo, untrusted) and schemas there.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from qcservice import filemodes
from qcservice.config import Settings
from qcservice.db.cluster import DB_NAME, DB_ROLE, EmbeddedCluster
from qcservice.errors import MusedcError
from qcservice.serviceuser import service_account, switch_kwargs
from qcservice.vo.config import VOConfig

# inside the package, so that an installed wheel has them too
TEMPLATE_DIR = Path(__file__).resolve().parent / "dachs"      # gavo.rc, userconfig.rd, ...
RESOURCES_DIR = Path(__file__).resolve().parent / "resources"  # the RDs, one folder each
LAUNCHER = TEMPLATE_DIR / "dachs_launch.py"
DACHS = "/usr/bin/dachs"
SYSTEM_PYTHON = "/usr/bin/python3"


class VOError(MusedcError, RuntimeError):
    """The DaCHS instance cannot be set up, run or reached."""


def dsn(settings: Settings) -> str:
    """A psycopg2 DSN (key=value) for DaCHS, with the rights to create roles."""
    if settings.embedded:
        cluster = EmbeddedCluster(settings)
        parts = {"host": str(cluster.socket_dir), "port": str(settings.pg_port),
                 "dbname": DB_NAME, "user": DB_ROLE, "password": cluster.password()}
    else:
        url = make_url(settings.database_url)
        query = dict(url.query)
        parts = {"host": str(url.host or query.get("host") or "localhost"),
                 "port": str(url.port or query.get("port") or 5432),
                 "dbname": str(url.database), "user": str(url.username or ""),
                 "password": str(url.password or "")}
    return " ".join(f"{k}='{v}'" for k, v in parts.items() if v)


class Instance:
    """Files and commands of one DaCHS instance."""

    def __init__(self, vo: VOConfig) -> None:
        self.vo = vo
        self.root = vo.root
        self.rc = self.root / "gavo.rc"
        self.inputs = self.root / "inputs"
        self.stage_dir = self.inputs / "muse" / "stage"
        self.log_file = self.root / "logs" / "serve.log"
        self.pid_file = self.root / "state" / "musedc-serve.pid"

    # --- who runs DaCHS ---------------------------------------------------------------
    def service_user(self) -> pwd.struct_passwd | None:
        """The account DaCHS runs as: None for the current user, else the service user."""
        return service_account(self.vo.settings.service_user, "DaCHS", VOError)

    def env(self) -> dict[str, str]:
        """Environment of DaCHS processes: Debian's python, our gavo.rc."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PG", "PYTHON", "VIRTUAL_ENV", "GAVO"))}
        env.update(GAVOSETTINGS=str(self.rc), PATH="/usr/bin:/bin", LC_ALL="C.UTF-8",
                   HOME=str(self.root))
        return env

    def popen_kwargs(self) -> dict[str, object]:
        """User switch for subprocess when we are root."""
        return switch_kwargs(self.service_user())

    def run(self, *args: str, check: bool = True,
            timeout: float = 600) -> subprocess.CompletedProcess[str]:
        """Run ``dachs ARGS`` for this instance."""
        proc = subprocess.run([DACHS, *args], capture_output=True, text=True,
                              env=self.env(), cwd=str(self.root), timeout=timeout,
                              check=False, **self.popen_kwargs())  # type: ignore[arg-type]
        if check and proc.returncode != 0:
            shown = " ".join(re.sub(r"password='[^']*'", "password=***", a) for a in args)
            raise VOError(f"dachs {shown} failed ({proc.returncode}):\n"
                          f"{(proc.stderr or proc.stdout).strip()[-3000:]}")
        return proc

    # --- files ------------------------------------------------------------------------
    def group_name(self) -> str:
        user = self.service_user()
        gid = user.pw_gid if user is not None else os.getgid()
        import grp

        return grp.getgrgid(gid).gr_name

    def user_name(self) -> str:
        user = self.service_user()
        return user.pw_name if user is not None else pwd.getpwuid(os.getuid()).pw_name

    def admin_password(self) -> str:
        """The DaCHS admin (gavoadmin) web password, generated once."""
        path = self.root / "adminpasswd"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(18) + "\n")
            path.chmod(0o600)
        return path.read_text().strip()

    def site_meta(self) -> str:
        """DaCHS's defaultmeta.txt: the site metadata of the registry records, from the
        MUSEDC_VO_* settings (one place: dachs/defaultmeta.txt is the template)."""
        vo = self.vo
        return (TEMPLATE_DIR / "defaultmeta.txt").read_text().format(
            publisher=vo.publisher, contact_name=vo.contact_name,
            contact_email=vo.contact_email, site_title=vo.site_title,
            site_description=vo.site_description)

    def write_rc(self) -> None:
        """Generate gavo.rc from dachs/gavo.rc.template."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o711)   # the service user passes through; nobody lists
        self.rc.touch(mode=0o600)
        self.rc.chmod(0o600)     # it holds DaCHS's adminpasswd
        text = (TEMPLATE_DIR / "gavo.rc.template").read_text().format(
            root_dir=self.root, group=self.group_name(), bind=self.vo.bind,
            port=self.vo.port, server_url=self.vo.url, user=self.user_name(),
            admin_password=self.admin_password(), authority=self.vo.authority)
        self.rc.write_text(text)

    def install_files(self) -> None:
        """Copy userconfig.rd, site metadata, templates and the RDs into the instance."""
        etc = self.root / "etc"
        etc.mkdir(parents=True, exist_ok=True)
        from qcservice.vo.obscore_columns import render

        (etc / "userconfig.rd").write_text(render((TEMPLATE_DIR / "userconfig.rd").read_text()))
        (etc / "defaultmeta.txt").write_text(self.site_meta())
        templates = self.root / "web" / "templates"   # read before DaCHS's own
        templates.mkdir(parents=True, exist_ok=True)
        shutil.copy(TEMPLATE_DIR / "examples.html", templates / "examples.html")
        for rd_dir in RESOURCES_DIR.iterdir():
            if rd_dir.is_dir():
                shutil.copytree(rd_dir, self.inputs / rd_dir.name, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__", "stage"))
                for rd in (self.inputs / rd_dir.name).glob("*.rd"):
                    rd.write_text(render(rd.read_text()))
        self.stage_dir.mkdir(parents=True, exist_ok=True)
        self.chown()

    def chown(self) -> None:
        """Give the whole instance to the service user (when root)."""
        user = self.service_user()
        if user is None:
            return
        for dirpath, _dirs, files in os.walk(self.root):
            os.chown(dirpath, user.pw_uid, user.pw_gid)
            for name in files:
                os.chown(os.path.join(dirpath, name), user.pw_uid, user.pw_gid)

    # --- life cycle -------------------------------------------------------------------
    def initialised(self) -> bool:
        return (self.root / "state" / "musedc-initialised").exists()

    def _dachs_schema_exists(self) -> bool:
        """True when the database already holds DaCHS's own tables (dc.tablemeta)."""
        from qcservice.db import make_engine

        engine = make_engine(self.vo.settings)
        try:
            with engine.connect() as conn:
                return conn.execute(text("SELECT to_regclass('dc.tablemeta') IS NOT NULL")
                                    ).scalar_one()
        finally:
            engine.dispose()

    def _grant_login_checks(self) -> None:
        """DaCHS's database role may call the login throttle (dachs/dachs_launch.py); the
        functions are SECURITY DEFINER, so it gets no right on the qc tables themselves."""
        from qcservice.db import make_engine

        engine = make_engine(self.vo.settings)
        try:
            with engine.begin() as conn:
                conn.execute(text("GRANT USAGE ON SCHEMA qc TO gavoadmin"))
        finally:
            engine.dispose()

    def init(self, restage: Callable[[], object] | None = None) -> None:
        """Create the instance (idempotent): files, DaCHS roles and tables, obscore.

        ``restage`` rewrites the staging files before a published instance re-imports
        them: files staged by an older version may lack what the new RDs read."""
        self.write_rc()
        self.install_files()
        if self._dachs_schema_exists():
            # `dachs init` on an initialised database fails (operators it re-creates)
            self.run("upgrade")
        else:
            self.run("init", "-d", dsn(self.vo.settings))
        self.chown()
        filemodes.tighten(self.vo.settings)   # DaCHS writes its profiles world-readable
        self._grant_login_checks()
        self.run("imp", "//obscore", "refreshAfterSchemaUpdate", check=False)
        if (self.stage_dir / "products.jsonl").exists():
            # published before: its tables follow the (maybe changed) RDs before the
            # obscore view is rebuilt over them
            if restage is not None:
                restage()
            for rd in ("muse/q", "muse/ssa"):
                self.run("imp", rd)
        self.run("imp", "//obscore")
        marker = self.root / "state" / "musedc-initialised"
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text("ok\n")
        self.chown()
