"""``musedc db``: the embedded PostgreSQL and the schema migrations."""

from __future__ import annotations

import os

import click

from qcservice.db.cluster import EmbeddedCluster
from qcservice.db.engine import database_url, make_engine
from qcservice.db.migrate import applied_versions, apply_migrations


def _cluster(obj) -> EmbeddedCluster:
    if not obj.settings.embedded:
        raise click.ClickException(
            "MUSEDC_DATABASE_URL is set: the database is external and not managed here")
    return EmbeddedCluster(obj.settings)


@click.group()
def db() -> None:
    """Manage the catalogue database.

    Without MUSEDC_DATABASE_URL the data centre runs its own PostgreSQL 15 under
    $MUSEDC_HOME/pg (started on demand by any command that needs it).
    """


@db.command()
@click.pass_obj
def start(obj) -> None:
    """Create (first time) and start the embedded PostgreSQL."""
    cluster = _cluster(obj)
    started = cluster.start()
    click.echo("started" if started else "already running")
    click.echo(cluster.status().describe())


@db.command()
@click.pass_obj
def stop(obj) -> None:
    """Stop the embedded PostgreSQL (fast shutdown: open transactions roll back)."""
    stopped = _cluster(obj).stop()
    click.echo("stopped" if stopped else "not running")


@db.command()
@click.pass_obj
def status(obj) -> None:
    """Say whether the database runs, where, and which migrations it has.

    Exits 0 when the database answers, 1 when it does not.
    """
    settings = obj.settings
    if settings.embedded:
        state = EmbeddedCluster(settings).status()
        click.echo(state.describe())
        if not state.running:
            raise SystemExit(1)
    else:
        click.echo("external PostgreSQL (MUSEDC_DATABASE_URL)")
    try:
        engine = make_engine(settings, ensure_schema=False)
        versions = applied_versions(engine)
    except Exception as exc:  # report any connection failure plainly
        raise click.ClickException(f"cannot query the database: {exc}") from exc
    if versions:
        last = versions[-1]
        click.echo(f"schema qc at migration {last[0]:03d} ({last[1]}, applied {last[2]})")
    else:
        click.echo("schema qc absent: run 'musedc db migrate'")


@db.command()
@click.pass_obj
def migrate(obj) -> None:
    """Apply the pending migrations of sql/ in order (idempotent)."""
    engine = make_engine(obj.settings, ensure_schema=False)
    before = {version for version, _, _ in applied_versions(engine)}
    done = apply_migrations(engine)
    for m in done:
        if m.built_on(before):
            versions = " ".join(f"{v:03d}" for v in sorted(m.replaces))
            click.echo(f"recorded {m.filename} (it squashes {versions}, applied here before)")
        else:
            click.echo(f"applied {m.filename}")
    if not done:
        click.echo("schema is up to date")


@db.command()
@click.option("--show-password", is_flag=True, help="Print the password instead of ***.")
@click.pass_obj
def url(obj, show_password: bool) -> None:
    """Print the SQLAlchemy URL of the database (for scripts and psql)."""
    text = database_url(obj.settings)
    if not show_password and obj.settings.embedded:
        text = text.replace(EmbeddedCluster(obj.settings).password(), "***")
    click.echo(text)


@db.command(context_settings={"ignore_unknown_options": True})
@click.argument("psql_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_obj
def psql(obj, psql_args: tuple[str, ...]) -> None:
    """Open psql on the catalogue (extra arguments go to psql)."""
    settings = obj.settings
    if settings.embedded:
        cluster = _cluster(obj)
        cluster.start()
        env = dict(os.environ, PGPASSWORD=cluster.password())
        args = ["psql", "-h", str(cluster.socket_dir), "-p", str(settings.pg_port),
                "-U", "musedc", "musedc", *psql_args]
    else:
        env = dict(os.environ)
        args = ["psql", settings.database_url.replace("+psycopg2", ""), *psql_args]
    os.execvpe("psql", args, env)
