"""``musedc vo init | publish | serve | stop | status | sync-users``."""

from __future__ import annotations

import click

from qcservice.vo.config import HELP, load_vo_config
from qcservice.vo.instance import Instance

EXAMPLE = ("SELECT TOP 10 obs_publisher_did, target_name, qa_state, psf_fwhm_7000 "
           "FROM ivoa.obscore WHERE obs_collection = 'MUSE-GTO'")


def _instance(obj, port: int | None = None) -> Instance:
    return Instance(load_vo_config(obj.settings, port=port))


_EPILOG = "\b\nSettings (environment, or keys of [vo] in musedc.toml):\n" + "\n".join(
    f"  {k:<28} {v}" for k, v in HELP.items())


@click.group(epilog=_EPILOG)
def vo() -> None:
    """VO services (DaCHS): TAP, ObsCore with QC columns, SIAv2, DataLink, SODA."""


@vo.command()
@click.option("--port", type=int, default=None, help="DaCHS port (MUSEDC_VO_PORT).")
@click.pass_obj
def init(obj, port: int | None) -> None:
    """Create or refresh the DaCHS instance under $MUSEDC_HOME/vo."""
    from qcservice.db import make_engine
    from qcservice.vo.publish import stage

    engine = make_engine(obj.settings)   # the database must exist and be migrated
    inst = _instance(obj, port)
    try:
        inst.init(restage=lambda: stage(engine, inst))
    finally:
        engine.dispose()
    click.echo(f"DaCHS instance ready in {inst.root}")


@vo.command()
@click.pass_obj
def publish(obj) -> None:
    """Publish what QC validated (publishable QA states) and sync users."""
    from qcservice.db import make_engine
    from qcservice.vo.publish import publish as do_publish

    inst = _instance(obj)
    engine = make_engine(obj.settings)
    try:
        click.echo(do_publish(engine, inst).describe())
    finally:
        engine.dispose()


@vo.command("sync-users")
@click.pass_obj
def sync_users_cmd(obj) -> None:
    """Copy users and groups of the QA viewer (qc.users) into DaCHS."""
    from qcservice.db import make_engine
    from qcservice.vo.accounts import sync_users

    engine = make_engine(obj.settings)
    try:
        users, groups = sync_users(engine)
    finally:
        engine.dispose()
    click.echo(f"DaCHS users {users}, group memberships {groups}")


@vo.command()
@click.option("--port", type=int, default=None, help="DaCHS port (MUSEDC_VO_PORT).")
@click.pass_obj
def serve(obj, port: int | None) -> None:
    """Start DaCHS in the background and wait until it answers."""
    from qcservice.vo.server import serve as do_serve

    inst = _instance(obj, port)
    if not inst.initialised():
        raise click.ClickException("no DaCHS instance: run 'musedc vo init' first")
    started = do_serve(inst)
    click.echo(("started" if started else "already running") + f": TAP {inst.vo.tap_url}")
    click.echo(f"example: {EXAMPLE}")


@vo.command()
@click.pass_obj
def stop(obj) -> None:
    """Stop the DaCHS server: SIGTERM, then wait until it has exited."""
    from qcservice.vo.server import stop as do_stop

    click.echo("stopped" if do_stop(_instance(obj)) else "not running")


@vo.command()
@click.pass_obj
def status(obj) -> None:
    """Tell whether DaCHS runs and answers at its URL (exit status 1 when not)."""
    from qcservice.vo.server import status as do_status

    st = do_status(_instance(obj))
    click.echo(st.describe())
    if not st.healthy:
        raise SystemExit(1)
