"""``musedc reduce``: reduce nights with the official MUSE pipeline (esorex)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click
from sqlalchemy import text

from qcservice.cli_options import date_option
from qcservice.db import make_engine
from qcservice.db.engine import CONNECTION_LOST, connection_lost
from qcservice.vocabulary import N_IFU


def _ifus(value: str | None) -> list[int] | None:
    if not value:
        return None
    try:
        ifus = sorted({int(v) for v in value.split(",")})
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a list of IFUs (e.g. 1,2)",
                                 param_hint="--ifu") from None
    if not all(1 <= i <= N_IFU for i in ifus):
        raise click.BadParameter(f"IFUs are 1..{N_IFU}", param_hint="--ifu")
    return ifus


@click.group(invoke_without_command=True)
@click.option("--night", default=None, callback=date_option,
              help="Only this night (YYYY-MM-DD).")
@click.option("--since", default=None, callback=date_option,
              help="Only nights from this one on (YYYY-MM-DD).")
@click.option("--all", "all_nights", is_flag=True, help="Every night (the default).")
@click.option("--ifu", "ifu_list", default=None, help="Only these IFUs (e.g. 1,2).")
@click.option("--steps", default=None,
              help="Only these actions of the cascade (e.g. muse_bias,muse_dark).")
@click.option("--static", "static_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Folder of static calibrations (LINE_CATALOG, ...).")
@click.option("--work", "work_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Where products are written (default $MUSEDC_HOME/reduced).")
@click.option("--timeout", type=click.FloatRange(min=1), default=600.0, show_default=True,
              help="Seconds after which a recipe run is killed and recorded failed.")
@click.option("-j", "--workers", type=click.IntRange(min=0), default=None,
              help="Local worker processes (default: MUSEDC_WORKERS, 0 = one per core).")
@click.option("--scheduler", default=None, metavar="ADDRESS",
              help="Run the recipes on a Dask distributed cluster (tcp://host:8786).")
@click.pass_context
def reduce(ctx, night, since, all_nights, ifu_list, steps, static_dir, work_dir, timeout,
           workers, scheduler) -> None:
    """Reduce raw frames with the MUSE pipeline: bias, dark, flat, wavecal, scibasic,
    scipost (per exposure), exp_combine (per OB).

    Frames are associated by the pipeline's own OCA rules; each recipe run is a row of
    qc.recipe_runs (inputs, outputs, status, time, peak memory, log). Incremental and
    idempotent; a failed recipe is recorded with the pipeline's message and the rest go
    on. Products are catalogued. Exit status 1 when a recipe failed.
    """
    if ctx.invoked_subcommand:
        return
    from qcservice.reduce.associate import STEPS
    from qcservice.reduce.run import run_reduce

    if night and (since or all_nights):
        raise click.UsageError("--night excludes --since and --all")
    chosen = tuple(steps.split(",")) if steps else STEPS
    unknown = [s for s in chosen if s not in STEPS]
    if unknown:
        raise click.BadParameter(f"unknown {unknown}; choose among {', '.join(STEPS)}",
                                 param_hint="--steps")
    settings = ctx.obj.settings
    engine = make_engine(settings)
    try:
        report = run_reduce(
            engine, (work_dir or settings.paths.reduced).resolve(),
            night_from=night or since, night_to=night, ifus=_ifus(ifu_list), steps=chosen,
            static_dir=static_dir, workers=workers or settings.effective_workers(),
            scheduler=scheduler, timeout_s=timeout)
    except CONNECTION_LOST as exc:
        raise click.ClickException(connection_lost(exc, "the reduction", "musedc reduce")
                                   ) from exc
    for key, why in report.failures:
        click.echo(f"FAILED {key}: {why}", err=True)
    for key, why in report.blocked:
        click.echo(f"BLOCKED {key}: {why}", err=True)
    click.echo(f"reduce run {report.run_id}: {report.summary()}")
    if report.failures:
        sys.exit(1)


@reduce.command()
@click.option("--night", default=None, callback=date_option,
              help="Only this night (YYYY-MM-DD).")
@click.pass_obj
def runs(obj, night: dt.date | None) -> None:
    """The recipe runs from the database: status, time, peak memory, message."""
    engine = make_engine(obj.settings)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT run_key, status, duration_s, peak_mem_mb, message FROM qc.recipe_runs "
            "WHERE CAST(:n AS date) IS NULL OR night = :n ORDER BY recipe_run_id"),
            {"n": night})
        for r in rows:
            first = (r.message or "").splitlines()[:1]
            click.echo(f"{r.status:<8} {r.duration_s or 0:7.1f} s {r.peak_mem_mb or 0:7.0f} MB"
                       f"  {r.run_key}  {first[0] if first else ''}")


@reduce.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def statics(folder: Path) -> None:
    """Write the simulator's static calibrations (LINE_CATALOG, GEOMETRY_TABLE,
    EXTINCT_TABLE, STD_RESPONSE, FILTER_LIST) into FOLDER, for
    'musedc reduce --static FOLDER' on simulated nights (Debian ships none)."""
    from qcservice.simulate.statics import write_statics

    for path in write_statics(folder.parent, folder.name):
        click.echo(path)
