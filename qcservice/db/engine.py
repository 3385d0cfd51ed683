"""Connections: one SQLAlchemy engine per settings, created on demand, never at import.

With the embedded cluster, asking for an engine starts the cluster and brings the qc
schema up to date, so every command just works on a fresh machine. With an external
``MUSEDC_DATABASE_URL`` nothing is started and an outdated schema is an error that says
to run ``musedc db migrate``: production upgrades are explicit.
"""

from __future__ import annotations

import sys

from sqlalchemy import Engine, create_engine
from sqlalchemy.exc import InterfaceError, OperationalError

from qcservice.config import Settings
from qcservice.db.cluster import EmbeddedCluster
from qcservice.db.migrate import apply_migrations, pending_migrations
from qcservice.errors import MusedcError


class SchemaOutdated(MusedcError, RuntimeError):
    """The database lacks migrations that this code needs."""


# what SQLAlchemy raises when the server went away (stopped, restarted, network lost)
CONNECTION_LOST = (OperationalError, InterfaceError)


def connection_lost(exc: Exception, during: str, rerun: str) -> str:
    """One line for a run whose database stopped answering: why, that what was recorded
    before is kept, and what to do next."""
    reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
    return (f"the database stopped answering during {during} ({reason}); every file "
            f"recorded before is kept: run '{rerun}' again when it is back")


def database_url(settings: Settings) -> str:
    """The SQLAlchemy URL to use: the configured one, or the embedded cluster's."""
    if settings.database_url:
        url = settings.database_url
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg2://" + url[len("postgresql://"):]
        return url
    return EmbeddedCluster(settings).url()


def make_engine(settings: Settings, *, ensure_schema: bool = True) -> Engine:
    """An engine for ``settings``; see the module docstring for what it may start."""
    if settings.embedded:
        cluster = EmbeddedCluster(settings)
        if cluster.start():
            print(f"musedc: started the embedded PostgreSQL ({settings.pg_dir})",
                  file=sys.stderr)
    engine = create_engine(database_url(settings), pool_pre_ping=True,
                           connect_args={"application_name": "musedc"})
    if ensure_schema:
        pending = pending_migrations(engine)
        if pending and settings.embedded:
            apply_migrations(engine)
        elif pending:
            names = ", ".join(m.filename for m in pending)
            raise SchemaOutdated(f"the database lacks migrations {names}: "
                                 f"run 'musedc db migrate'")
    return engine
