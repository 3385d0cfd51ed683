"""``musedc demo``: a simulated night through the data centre, end to end.

Today: simulate (once; the simulator is deterministic, so a rerun reuses the files), add
the real MUSE cube of the mpdaf wheel when it is installed, start the embedded database,
ingest, and show what the catalogue holds. Later stages (QC, viewer, VO) join here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from qcservice.db import make_engine
from qcservice.nights import format_counts, night_counts


def _real_cube(dest: Path) -> Path | None:
    """Copy mpdaf's real MUSE cube (Abell 478) next to the simulated data, if available."""
    try:
        import mpdaf
    except ImportError:
        return None
    source = Path(mpdaf.__file__).parent / "data" / "sdetect" / "minicube.fits"
    if not source.is_file():
        return None
    target = dest / "real" / "minicube.fits"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return target


@click.command()
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Where the demo's FITS files go (default: $MUSEDC_HOME/demo).")
@click.option("--nights", default=1, show_default=True, type=click.IntRange(1, 30),
              help="Simulated nights.")
@click.option("--scale", type=click.Choice(["tiny", "small", "full"]), default="small",
              show_default=True, help="Simulation scale ('full' writes ~100 GB a night).")
@click.option("--seed", default=1, show_default=True, help="Simulator seed.")
@click.option("--start-night", default="2024-03-09", show_default=True,
              help="First simulated night (YYYY-MM-DD).")
@click.pass_obj
def demo(obj, data_dir: Path | None, nights: int, scale: str, seed: int,
         start_night: str) -> None:
    """Run the demo: simulate a night, catalogue it, and show the result.

    Simulates NIGHTS nights of MUSE data (raw frames of every kind, master calibrations
    of the 24 IFUs, cubes, images and spectra, with deliberate faults), adds the real MUSE
    cube shipped by mpdaf, starts the embedded PostgreSQL (unless MUSEDC_DATABASE_URL is
    set), ingests everything and prints the catalogue per night. Safe to rerun: existing
    simulated nights are reused and the ingest only takes what changed.
    """
    from qcservice.ingest.runner import ingest_paths
    from qcservice.simulate import simulate

    settings = obj.settings
    data_dir = data_dir or settings.home / "demo"
    sim_dir = data_dir / "sim"
    click.echo(f"[1/3] simulating {nights} night(s) at scale {scale!r} into {sim_dir}")
    marker = sim_dir / f".done-{scale}-{seed}-{start_night}-{nights}"
    if marker.exists():
        click.echo("      reusing the nights simulated before (same scale, seed, nights)")
    else:
        simulate(sim_dir, nights=nights, scale=scale, seed=seed, start_night=start_night,
                 progress=lambda t: click.echo(f"      {t.night}: {len(t.files)} files"))
        marker.touch()
    cube = _real_cube(data_dir)
    if cube:
        click.echo(f"      plus the real MUSE cube of mpdaf: {cube}")

    click.echo("[2/3] cataloguing (headers only; broken files are named and skipped)")
    engine = make_engine(settings)
    report = ingest_paths(engine, [data_dir], project=settings.project,
                          workers=settings.effective_workers(), checksum=settings.checksum,
                          proprietary_days=settings.proprietary_days, progress=False)
    click.echo(f"      ingest run {report.run_id}: {report.summary()}")
    for path, reason in report.failures:
        click.echo(f"      refused {path}: {reason}")

    click.echo("[3/3] the catalogue, newest night first")
    click.echo(format_counts(night_counts(engine)))
    click.echo(f"\nDatabase: {settings.pg_dir if settings.embedded else 'external'}; "
               f"'musedc db psql' opens it, 'musedc db stop' stops it.")
