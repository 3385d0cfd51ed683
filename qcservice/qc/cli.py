"""``musedc qc``: batch QC runs, thresholds, and the state of the last runs."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click
from sqlalchemy import text

from qcservice.cli_options import date_option, progress_option
from qcservice.db import make_engine
from qcservice.db.engine import CONNECTION_LOST, connection_lost


@click.group()
def qc() -> None:
    """Quality control of raw calibrations, master calibrations and final cubes."""


@qc.command()
@click.option("--night", default=None, callback=date_option,
              help="Only this night (YYYY-MM-DD).")
@click.option("--since", default=None, callback=date_option,
              help="Only nights from this one on (YYYY-MM-DD).")
@click.option("--all", "all_nights", is_flag=True, help="Every night (the default when "
              "neither --night nor --since is given).")
@click.option("-j", "--workers", type=click.IntRange(min=0), default=None,
              help="Local worker processes (default: MUSEDC_WORKERS, 0 = one per core).")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run the tasks on a Dask distributed cluster (tcp://host:8786) instead "
                   "of local processes.")
@progress_option
@click.pass_obj
def run(obj, night: dt.date | None, since: dt.date | None, all_nights: bool, workers: int | None,
        scheduler: str | None, progress: bool) -> None:
    """Compute QC metrics, flags and QA states of what is new or changed.

    Incremental and idempotent: a file is checked again only when it changed, when the QC
    code changed, or when its last check failed. Each file is recorded in its own
    transaction; a failing file is recorded with its error and the rest go on. A run
    killed in the middle is finished by the next one. Exit status 1 when a file failed.
    """
    from qcservice.qc.run import run_qc

    if night and (since or all_nights):
        raise click.UsageError("--night excludes --since and --all")
    first, last = night or since, night
    settings = obj.settings
    engine = make_engine(settings)
    try:
        report = run_qc(engine, settings.paths.qc_images, night_from=first, night_to=last,
                        workers=workers or settings.effective_workers(), scheduler=scheduler,
                        progress=progress)
    except CONNECTION_LOST as exc:
        raise click.ClickException(
            connection_lost(exc, "the QC run", "musedc qc run")) from exc
    for path, reason in report.failures:
        click.echo(f"FAILED {path}: {reason}", err=True)
    click.echo(f"qc run {report.run_id}: {report.summary()}")
    if not report.ok:
        sys.exit(1)


@qc.command()
@click.option("--last", default=10, show_default=True, help="How many runs.")
@click.pass_obj
def runs(obj, last: int) -> None:
    """The last QC runs from the database: status, counts, message."""
    engine = make_engine(obj.settings)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT run_id, status, started_at, finished_at, n_done, n_failed, message "
            "FROM qc.job_runs WHERE kind = 'qc' ORDER BY run_id DESC LIMIT :n"), {"n": last})
        for r in rows:
            click.echo(f"{r.run_id:6d} {r.status:<13} {r.started_at:%Y-%m-%d %H:%M:%S}  "
                       f"{r.n_done:5d} done {r.n_failed:4d} failed  {r.message}")


@qc.command()
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False,
                                                    path_type=Path))
@click.pass_obj
def thresholds(obj, files: tuple[Path, ...]) -> None:
    """Load threshold files (TOML) into the database, or the defaults when none given.

    A file has valid_from = "YYYY-MM-DD", calibrated_on = "..." (the data its limits
    were set on) and [[threshold]] rows with metric, flag,
    and any of ins_mode, ifu, subunit, nominal, warn_low, warn_high, error_low,
    error_high, unit, comment. Rows are matched on metric, flag, mode, IFU, sub-unit and
    valid_from: loading a file again updates its rows.
    """
    from qcservice.db.schema import tables
    from qcservice.qc.thresholds import sync

    engine = make_engine(obj.settings)
    with engine.begin() as conn:
        n = sync(conn, tables(engine), list(files) or None)
    click.echo(f"{n} thresholds loaded")
