"""``musedc simulate``: write simulated MUSE nights (raw frames, products, truth.json)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import click

from qcservice.cli_options import date_option
from qcservice.simulate.layout import SCALES
from qcservice.vocabulary import INS_MODES


@click.command()
@click.argument("outdir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--nights", type=click.IntRange(min=1), default=1, show_default=True,
              help="Number of consecutive nights to write, from --start-night on.")
@click.option("--scale", type=click.Choice(sorted(SCALES)), default="tiny", show_default=True,
              help="Size of the data: tiny (64x72-pixel CCD quadrants, 24x24-spaxel cubes; "
                   "for tests), small (128x136, 48x48; for the demo) or full (real "
                   "4224x4240 raw CHANs, 320x320 cubes; ~40 GB a night per mode).")
@click.option("--mode", "modes", type=click.Choice(INS_MODES), multiple=True,
              default=("WFM-NOAO-N",), show_default=True,
              help="Instrument mode to observe in (ESO INS MODE); repeat for several. "
                   "Each mode gets its flats, arc, standard star and science OBs.")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Random seed: the same arguments always give byte-identical files.")
@click.option("--start-night", default="2014-12-07", show_default=True, callback=date_option,
              help="First night (YYYY-MM-DD, ESO convention: the UT date of DATE-OBS "
                   "minus 12 hours).")
@click.option("--faults/--no-faults", default=True, show_default=True,
              help="Inject the deliberate faults (noisy IFU, saturated flat, dead slice, "
                   "bad sky subtraction, broken raw header), recorded in truth.json.")
@click.pass_obj
def simulate(obj: object, outdir: Path, nights: int, scale: str, modes: tuple[str, ...],
             seed: int, start_night: dt.date, faults: bool) -> None:
    """Write simulated MUSE nights into OUTDIR, one folder per night.

    Each night folder holds raw/MUSE.<DATE-OBS>.fits (24 CHAN extensions each),
    products/<PRO_CATG>[-NN][_k].fits (per-IFU masters, cubes, images, spectra) and
    truth.json (every injected value, the faults, and a map of all files written).
    """
    started = time.perf_counter()

    from qcservice.simulate.night import simulate as run_simulation
    from qcservice.simulate.truth import NightTruth

    def progress(truth: NightTruth) -> None:
        size = sum(p.stat().st_size for p in truth.directory.rglob("*.fits"))
        click.echo(f"{truth.night.isoformat()}: {len(truth.files)} files, "
                   f"{size / 1e6:.1f} MB, {len(truth.faults)} faults -> {truth.directory} "
                   f"({time.perf_counter() - started:.1f} s)")

    try:
        run_simulation(outdir, nights, scale, modes, seed, start_night, faults, progress)
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
