"""The ``musedc`` command: one entry point, a subcommand per area of the data centre."""

from __future__ import annotations

import click

from qcservice import __version__
from qcservice.config import (
    HELP,
    Settings,
    ViewerSettings,
    load_settings,
    section_help,
)
from qcservice.errors import MusedcError


class Context:
    """What every subcommand gets: the settings, loaded once from the environment."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings


_SETTINGS_HELP = "\n".join(
    [f"  MUSEDC_{k.upper():<22} {v}" for k, v in HELP.items()]
    + ["[viewer] (the VO services' [vo]: 'musedc vo --help')"]
    + [f"  {k:<29} {v}" for k, v in section_help(ViewerSettings).items()])


class _Group(click.Group):
    """Turns the data centre's own errors (:class:`MusedcError`, whose message names the
    file or setting and the problem) into one line and exit status 1, the one place that
    does; anything else is a bug and keeps its traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except MusedcError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(
    cls=_Group,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="\b\nSettings (environment variables, or keys of $MUSEDC_HOME/musedc.toml):\n"
    + _SETTINGS_HELP
    + "\n  MUSEDC_CONFIG                 the TOML file (default $MUSEDC_HOME/musedc.toml)",
)
@click.version_option(__version__, prog_name="musedc")
@click.option("--home", type=click.Path(file_okay=False), default=None,
              help="State directory (overrides MUSEDC_HOME).")
@click.pass_context
def main(ctx: click.Context, home: str | None) -> None:
    """MUSE GTO data centre: catalogue, QC, QA viewer and VO services.

    Start with 'musedc demo', or 'musedc ingest PATH' to catalogue a night.
    """
    from qcservice import filemodes

    ctx.obj = Context(load_settings(home=home))
    filemodes.check(ctx.obj.settings)


def _register() -> None:
    from qcservice.ancillary.cli import ancillary
    from qcservice.db.cli import db
    from qcservice.demo import demo
    from qcservice.download.cli import download
    from qcservice.ingest.cli import ingest
    from qcservice.nights_cli import nights
    from qcservice.qc.cli import qc
    from qcservice.reduce.cli import reduce
    from qcservice.simulate.cli import simulate
    from qcservice.storage_cli import storage
    from qcservice.users_cli import users
    from qcservice.viewer.cli import viewer
    from qcservice.vo.cli import vo

    for command in (db, ingest, nights, qc, simulate, demo, users, viewer, vo):
        main.add_command(command)
    for command in (ancillary, download, storage, reduce):
        main.add_command(command)


_register()
