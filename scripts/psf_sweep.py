"""How often the cube QC's PSF stars are exactly the injected stars, over many simulated
nights (the acceptance figures behind ``qcservice/qc/starfind.py``).

    .venv/bin/python scripts/psf_sweep.py [--scale small] [--seeds 1-20] [--keep DIR]

For every seed one night is simulated (the same night date as the QC tests: tiny
2014-12-07, small 2015-03-01) and each final cube's QC (``qc.cubeqc.cube_qc``) is set
against its truth: psf.nstars against the injected stars; each injected star's nearest
reported position (psf.star_x/y) within 0.5 spaxel; no reported star farther than that
from every injected star (a galaxy taken for a star); psf.fwhm within 5 % in every band.
A cube that misses any of these is listed with what it missed. About a minute per small
seed on two cores.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

from qcservice.fits.header import read_headers
from qcservice.ingest.classify import classify
from qcservice.qc.cubeqc import cube_qc
from qcservice.simulate.night import simulate_night
from qcservice.simulate.truth import load_truth

NIGHTS = {"tiny": "2014-12-07", "small": "2015-03-01"}


def seeds(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def seeing(path: Path) -> float | None:
    """The DIMM seeing the catalogue records for the cube, which the QC run passes on."""
    return classify(read_headers(str(path)), path.name).product["dimm_fwhm"]


def check_cube(path: Path, truth: dict) -> list[str]:
    """What the cube's QC missed against its truth (nothing: an empty list)."""
    metrics = {(m.name, m.subunit): m.value for m in cube_qc(str(path), None,
                                                             seeing(path)).metrics}
    stars = [s for s in truth["sources"] if s["kind"] == "star"]
    found = [(metrics["psf.star_x", k], metrics["psf.star_y", k])
             for (name, k) in metrics if name == "psf.star_x"]
    missed = []
    if metrics["psf.nstars", None] != len(stars):
        missed.append(f"nstars {metrics['psf.nstars', None]:.0f} of {len(stars)}")
    for s in stars:
        off = min((math.hypot(x - s["x"], y - s["y"]) for x, y in found), default=99.0)
        if off >= 0.5:
            missed.append(f"star of {s['flux_7000']:.0f} at ({s['x']:.1f}, {s['y']:.1f}) "
                          f"{'not found' if off > 3 else f'placed {off:.2f} off'}")
    for x, y in found:
        if min(math.hypot(x - s["x"], y - s["y"]) for s in stars) > 3:
            missed.append(f"({x:.1f}, {y:.1f}) is no star")
    for (name, band), value in metrics.items():
        want = truth["psf"]["samples_arcsec"].get(band) if name == "psf.fwhm" else None
        if want and abs(value / want - 1) > 0.05:
            missed.append(f"fwhm {band} A {value / want - 1:+.1%}")
    return missed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(NIGHTS), default="small")
    parser.add_argument("--seeds", type=seeds, default=seeds("1-20"), help="e.g. 1-20")
    parser.add_argument("--keep", type=Path, help="simulate here and keep the nights")
    args = parser.parse_args()
    exact = total = 0
    with tempfile.TemporaryDirectory() as scratch:
        for seed in args.seeds:
            out = (args.keep or Path(scratch)) / f"{args.scale}-{seed}"
            night = simulate_night(out, NIGHTS[args.scale], scale=args.scale, seed=seed)
            for cube in load_truth(night.directory)["cubes"]:
                missed = check_cube(night.directory / cube["file"], cube)
                total, exact = total + 1, exact + (not missed)
                fwhm = cube["psf"]["fwhm_7000_arcsec"]
                print(f"seed {seed} {cube['file']} ({fwhm:.2f}\"): "
                      f"{'; '.join(missed) or 'exact'}", flush=True)
    print(f"{args.scale}: {exact} of {total} cubes exact")


if __name__ == "__main__":
    main()
