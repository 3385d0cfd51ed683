"""``musedc demo``: a simulated night through the data centre, end to end.

Simulate (once; the simulator is deterministic, so a rerun reuses the files), add the
real MUSE cube of the mpdaf wheel when it is installed, start the embedded database,
ingest, run QC over all 24 IFUs, show what the catalogue holds and what QC flagged,
publish through DaCHS, and serve the QA viewer.
"""

from __future__ import annotations

import datetime as dt
import shutil
import signal
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import click

from qcservice import metricnames as mn
from qcservice.db import make_engine
from qcservice.nights import format_counts, night_counts


def _mpdaf_file(name: str) -> Path | None:
    """A real data file the mpdaf wheel ships (data/sdetect/NAME), if it is installed."""
    try:
        import mpdaf
    except ImportError:
        return None
    path = Path(mpdaf.__file__).parent / "data" / "sdetect" / name
    return path if path.is_file() else None


def _real_cube(dest: Path) -> Path | None:
    """Copy mpdaf's real MUSE cube (Abell 478) next to the simulated data, if available."""
    source = _mpdaf_file("minicube.fits")
    if source is None:
        return None
    target = dest / "real" / "minicube.fits"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    return target


def _ancillary_step(engine) -> None:
    """Register mpdaf's real HST image of Abell 478, which overlaps the real MUSE cube,
    as ancillary data (where the package keeps it: files stay where they are)."""
    from qcservice.ancillary.register import register_files

    hst = _mpdaf_file("a478hst-cutout.fits")
    if hst is not None:
        for outcome in register_files(engine, [hst], "HST-A478"):
            click.echo(f"      ancillary data: {outcome.describe()}")


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
            LEFT JOIN qc.raw_frames r USING (file_id) LEFT JOIN qc.products p USING (file_id)
            WHERE q.state <> 'Pass'
            ORDER BY coalesce(r.night, p.night) DESC NULLS LAST, q.state, f.filename""")).all()
    lines = []
    for r in rows[:FLAGGED_LINES]:
        flags = ", ".join(filter(None, [",".join(r.flags), r.ifu_flags]))
        ifus = f"; {r.n_flagged} of {r.n_ifus} IFUs flagged" if r.n_ifus else ""
        lines.append(f"{r.state:<7} {r.filename}: {flags}{ifus}")
    if len(rows) > FLAGGED_LINES:
        lines.append(f"... and {len(rows) - FLAGGED_LINES} more (older nights): see the "
                     f"viewer's review queue (Q.A.)")
    return lines


def _terminated(signum: int, _frame) -> None:
    raise SystemExit(128 + signum)


def _serve_until(seconds: float | None) -> None:
    """Block until Ctrl-C, or for ``seconds`` when given (0: not at all)."""
    if seconds is not None:
        time.sleep(seconds)
        return
    click.echo("\nServing; press Ctrl-C to stop.")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        click.echo("stopping")


def _answers(url: str) -> int:
    """HTTP status of a GET on ``url`` (the demo checks its own services)."""
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


HISTORY_EVERY_DAYS = 28
FLAGGED_LINES = 40     # the demo prints at most this many files QC did not pass

EXAMPLE_ADQL = ("SELECT TOP 10 obs_publisher_did, target_name, qa_state, psf_fwhm_7000, "
                "dimm_seeing FROM ivoa.obscore WHERE obs_collection = 'MUSE-GTO' "
                "ORDER BY psf_fwhm_7000")


@click.command()
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Where the demo's FITS files go (default: $MUSEDC_HOME/demo).")
@click.option("--nights", default=21, show_default=True, type=click.IntRange(1, 60),
              help="Simulated nights (a history: trends, heat map and queue need several).")
@click.option("--scale", type=click.Choice(["tiny", "small", "full"]), default="tiny",
              show_default=True, help="Simulation scale ('full' writes ~100 GB a night).")
@click.option("--seed", default=1, show_default=True, help="Simulator seed.")
@click.option("--start-night", default=None,
              help="First simulated night (YYYY-MM-DD). Default: chosen on the first run so "
                   "that the newest night is yesterday (under embargo) and the oldest ones "
                   "are released.")
@click.option("--every", "every_days", default=None, type=click.IntRange(1, 366),
              help=f"Days between simulated nights [default: {HISTORY_EVERY_DAYS}, or 1 with "
                   "--start-night].")
@click.option("--vo/--no-vo", default=True, show_default=True,
              help="Publish through DaCHS (TAP, ObsCore, SIAv2, DataLink, SODA).")
@click.option("--vo-port", type=int, default=None,
              help="DaCHS port (default: MUSEDC_VO_PORT, 8090).")
@click.option("--viewer-port", type=int, default=8080, show_default=True,
              help="Port of the QA viewer (0: any free port).")
@click.option("--serve-for", type=float, default=None, metavar="SECONDS",
              help="Serve for this long, then stop (default: until Ctrl-C; 0: check that "
                   "the services answer and stop).")
@click.pass_obj
def demo(obj, data_dir: Path | None, nights: int, scale: str, seed: int,
         start_night: str | None, every_days: int | None, vo: bool, vo_port: int | None,
         viewer_port: int, serve_for: float | None) -> None:
    """Run the demo: a simulated night through the whole data centre.

    Simulates NIGHTS nights of MUSE data (raw frames of every kind, master calibrations
    of the 24 IFUs, cubes, images and spectra; the instrument drifting slowly, deliberate
    faults on the newest night and every fifth one before it), adds the real MUSE
    cube shipped by mpdaf, starts the embedded PostgreSQL (unless MUSEDC_DATABASE_URL is
    set), ingests everything, runs QC over all 24 IFUs, publishes the validated products
    through DaCHS (TAP URL and an example query printed), and serves the QA viewer (URL
    and a demo login printed). Safe to rerun: existing simulated nights are reused, and
    ingest, QC and publish only take what changed.
    """
    settings = obj.settings
    # SIGTERM (a service manager, `kill`) ends the demo like Ctrl-C: the finally blocks
    # stop the viewer and DaCHS instead of leaving DaCHS on its port
    signal.signal(signal.SIGTERM, _terminated)
    data_dir = data_dir or settings.paths.demo
    steps = 6 if vo else 5
    engine = make_engine(settings)
    every = every_days or (1 if start_night else HISTORY_EVERY_DAYS)
    start = start_night or _history_start(data_dir / "sim", nights, every)
    _simulate_step(data_dir, nights, scale, seed, start, every, steps)
    _catalogue_step(engine, settings, data_dir, steps)
    click.echo(f"[5/{steps}] the catalogue, newest night first")
    click.echo(format_counts(night_counts(engine)))
    engine.dispose()
    viewer = _start_viewer(settings, viewer_port)   # creates the demo login, before publish
    if vo:
        from qcservice.vo import demo_step

        click.echo(f"[6/{steps}] publishing to the Virtual Observatory (DaCHS)")
        tap_url = demo_step(settings, port=vo_port, viewer_url=viewer.url)
        click.echo(f"      TAP service: {tap_url}")
        click.echo(f"      example query (TOPCAT, or pyvo.dal.TAPService(url).search(...)):\n"
                   f"        {EXAMPLE_ADQL}")
        query = urllib.parse.urlencode({"REQUEST": "doQuery", "LANG": "ADQL",
                                        "QUERY": EXAMPLE_ADQL})
        click.echo(f"      answered: HTTP {_answers(f'{tap_url}/sync?{query}')}")
    _serve(settings, viewer, serve_for, vo)
    click.echo(f"\nDatabase: {settings.pg_dir if settings.embedded else 'external'}; "
               f"'musedc db psql' opens it, 'musedc db stop' stops it.")


def _history_start(sim_dir: Path, nights: int, every: int) -> str:
    """The first night of the default history: the newest night is yesterday, so under
    embargo, the oldest more than a year back, so released. Kept in the simulation folder
    on the first run, so that a rerun on a later day reuses the same nights."""
    anchor = sim_dir / f".history-{nights}-{every}"
    if anchor.is_file():
        return anchor.read_text().strip()
    yesterday = dt.date.today() - dt.timedelta(days=1)
    start = (yesterday - dt.timedelta(days=every * (nights - 1))).isoformat()
    sim_dir.mkdir(parents=True, exist_ok=True)
    anchor.write_text(start + "\n")
    return start


def _simulate_step(data_dir: Path, nights: int, scale: str, seed: int, start_night: str,
                   every: int, steps: int) -> None:
    from qcservice.simulate import simulate

    sim_dir = data_dir / "sim"
    click.echo(f"[1/{steps}] simulating {nights} night(s) from {start_night}, {every} day(s) "
               f"apart, at scale {scale!r} into {sim_dir}")
    marker = sim_dir / f".done-{scale}-{seed}-{start_night}-{nights}-{every}"
    if marker.exists():
        click.echo("      reusing the nights simulated before (same scale, seed, nights)")
    else:
        simulate(sim_dir, nights=nights, scale=scale, seed=seed, start_night=start_night,
                 every_days=every, occasional_faults=True,
                 progress=lambda t: click.echo(f"      {t.night}: {len(t.files)} files"))
        marker.touch()
    cube = _real_cube(data_dir)
    if cube:
        click.echo(f"      plus the real MUSE cube of mpdaf: {cube}")


def _catalogue_step(engine, settings, data_dir: Path, steps: int) -> None:
    from qcservice.ingest.runner import ingest_paths
    from qcservice.qc.run import run_qc

    click.echo(f"[2/{steps}] cataloguing (headers only; broken files are named and skipped)")
    report = ingest_paths(engine, [data_dir], project=settings.project,
                          workers=settings.effective_workers(), checksum=settings.checksum,
                          proprietary_days=settings.proprietary_days, progress=False)
    click.echo(f"      ingest run {report.run_id}: {report.summary()}")
    for path, reason in report.failures:
        click.echo(f"      refused {path}: {reason}")
    _ancillary_step(engine)
    click.echo(f"[3/{steps}] quality control of every IFU (metrics, thresholds, flags, "
               f"QA state)")
    qc_report = run_qc(engine, settings.paths.qc_images,
                       workers=settings.effective_workers(), progress=False)
    click.echo(f"      qc run {qc_report.run_id}: {qc_report.summary()}")
    click.echo(f"[4/{steps}] what QC did not pass")
    for line in flagged_summary(engine) or ["everything passed"]:
        click.echo(f"      {line}")


def _start_viewer(settings, port: int):
    from qcservice.viewer.server import start_demo_viewer

    return start_demo_viewer(settings, port=port)


def _serve(settings, viewer, serve_for: float | None, vo: bool) -> None:
    """Print the viewer's address and login, serve, then stop what the demo started."""
    try:
        url = viewer.url.rstrip("/")
        click.echo(f"\nQA viewer: {url}  (HTTP {_answers(url + '/login')})")
        click.echo(f"  login: {viewer.username} / {viewer.password}  (QC scientist; the "
                   f"same login works for the VO services)")
        click.echo(f"  review queue (what QC did not pass, why): {url}/qa")
        click.echo(f"  trends over the nights: {url}/trends?metric={mn.BIAS_RON_E}&type=BIAS"
                   f"&split=ifu  ·  all 24 IFUs at a glance: {url}/heatmap")
        _serve_until(serve_for)
    finally:
        viewer.stop()
        if vo:  # the demo started DaCHS: it stops it too
            from qcservice.vo.config import load_vo_config
            from qcservice.vo.instance import Instance
            from qcservice.vo.server import stop

            stop(Instance(load_vo_config(settings)))
