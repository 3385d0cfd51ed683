"""``musedc demo``: a simulated night through the data centre, end to end.

Simulate (once; the simulator is deterministic, so a rerun reuses the files), add the
real MUSE cube of the mpdaf wheel when it is installed, start the embedded database,
ingest, run QC over all 24 IFUs, and show what the catalogue holds and what QC flagged.
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


def flagged_summary(engine) -> list[str]:
    """One line per file QC did not pass: state, flags, how many IFUs are flagged."""
    from sqlalchemy import text

    with engine.connect() as conn:
        rows = conn.execute(text("""
            SELECT f.filename, q.state, q.flags,
                   (SELECT string_agg(DISTINCT flag, ',') FROM qc.ifu_status s,
                           unnest(s.flags) flag WHERE s.file_id = f.file_id) AS ifu_flags,
                   (SELECT count(*) FROM qc.ifu_status s WHERE s.file_id = f.file_id
                      AND s.flags <> '{}') AS n_flagged,
                   (SELECT count(*) FROM qc.ifu_status s WHERE s.file_id = f.file_id)
                      AS n_ifus
            FROM qc.qa q JOIN qc.files f USING (file_id)
            WHERE q.state <> 'Pass' ORDER BY q.state, f.filename""")).all()
    lines = []
    for r in rows:
        flags = ", ".join(filter(None, [",".join(r.flags), r.ifu_flags]))
        ifus = f"; {r.n_flagged} of {r.n_ifus} IFUs flagged" if r.n_ifus else ""
        lines.append(f"{r.state:<7} {r.filename}: {flags}{ifus}")
    return lines


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
    """Run the demo: simulate a night, catalogue it, check it, and show the result.

    Simulates NIGHTS nights of MUSE data (raw frames of every kind, master calibrations
    of the 24 IFUs, cubes, images and spectra, with deliberate faults), adds the real MUSE
    cube shipped by mpdaf, starts the embedded PostgreSQL (unless MUSEDC_DATABASE_URL is
    set), ingests everything, runs QC over all 24 IFUs and prints the catalogue per night
    and every file QC did not pass. Safe to rerun: existing simulated nights are reused,
    and ingest and QC only take what changed.
    """
    from qcservice.ingest.runner import ingest_paths
    from qcservice.qc.cli import image_root
    from qcservice.qc.run import run_qc
    from qcservice.simulate import simulate

    settings = obj.settings
    data_dir = data_dir or settings.home / "demo"
    sim_dir = data_dir / "sim"
    click.echo(f"[1/4] simulating {nights} night(s) at scale {scale!r} into {sim_dir}")
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

    click.echo("[2/4] cataloguing (headers only; broken files are named and skipped)")
    engine = make_engine(settings)
    report = ingest_paths(engine, [data_dir], project=settings.project,
                          workers=settings.effective_workers(), checksum=settings.checksum,
                          proprietary_days=settings.proprietary_days, progress=False)
    click.echo(f"      ingest run {report.run_id}: {report.summary()}")
    for path, reason in report.failures:
        click.echo(f"      refused {path}: {reason}")

    click.echo("[3/4] quality control of every IFU (metrics, thresholds, flags, QA state)")
    qc_report = run_qc(engine, image_root(settings.home),
                       workers=settings.effective_workers(), progress=False)
    click.echo(f"      qc run {qc_report.run_id}: {qc_report.summary()}")
    for line in flagged_summary(engine):
        click.echo(f"      {line}")

    click.echo("[4/4] the catalogue, newest night first")
    click.echo(format_counts(night_counts(engine)))
    click.echo(f"\nDatabase: {settings.pg_dir if settings.embedded else 'external'}; "
               f"'musedc db psql' opens it, 'musedc db stop' stops it.")
