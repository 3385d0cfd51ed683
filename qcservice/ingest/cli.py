"""``musedc ingest``: catalogue raw frames and pipeline products."""

from __future__ import annotations

import sys

import click

from qcservice.cli_options import progress_option
from qcservice.db import make_engine
from qcservice.db.engine import CONNECTION_LOST, connection_lost


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--project", default=None,
              help="Project the files belong to (default: MUSEDC_PROJECT, 'GTO'); "
                   "'GTO-DRYRUN' for reprocessing tests.")
@click.option("-j", "--workers", type=click.IntRange(min=0), default=None,
              help="Worker processes reading headers (default: MUSEDC_WORKERS, 0 = one per "
                   "core).")
@click.option("--checksum/--no-checksum", default=None,
              help="Compute the SHA-256 of every new or changed file (default: on). It reads "
                   "the whole file; headers alone are read without it.")
@progress_option
@click.pass_obj
def ingest(obj, paths: tuple[str, ...], project: str | None, workers: int | None,
           checksum: bool | None, progress: bool) -> None:
    """Catalogue the FITS files in PATHS (files, or folders walked for *.fits, *.fits.fz).

    Reads headers only, never pixels: tells raw frames (ESO DPR CATG) from pipeline
    products (ESO PRO CATG), computes the ESO night (DATE-OBS minus 12 h), and harvests
    every ESO QC keyword into the metrics table. Unchanged files (same size and
    modification time) are skipped; changed ones are updated in place. A file that cannot
    be taken is named with the reason and recorded in qc.ingest_failures; the rest go on.
    A copy of an exposure already catalogued (same ARCFILE, else same DATE-OBS,
    instrument and DPR keys) is listed as DUPLICATE and counted once.

    Exit status: 0 when every file was taken, 1 when any failed.
    """
    from qcservice.ingest.runner import ingest_paths

    settings = obj.settings
    engine = make_engine(settings)
    workers = workers or settings.effective_workers()
    try:
        report = ingest_paths(
            engine, paths, project=project or settings.project, workers=workers,
            checksum=settings.checksum if checksum is None else checksum,
            proprietary_days=settings.proprietary_days, progress=progress)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    except CONNECTION_LOST as exc:
        raise click.ClickException(
            connection_lost(exc, "the ingest", "musedc ingest")) from exc
    for path, original, reason in report.duplicates:
        click.echo(f"DUPLICATE {path}: {reason} as {original} (counted once)")
    for path, reason in report.failures:
        click.echo(f"FAILED {path}: {reason}", err=True)
    for path, warning in report.warnings:
        click.echo(f"WARNING {path}: {warning}", err=True)
    click.echo(f"ingest run {report.run_id}: {report.summary()}")
    if not report.ok:
        sys.exit(1)
