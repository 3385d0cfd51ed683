"""Choosing what a science OB observed: seeing-limited PSF, drift, sources, sky residuals.

The PSF FWHM at 7000 A follows the DIMM seeing of the OB's exposures (DIMM at 5000 A,
scaled by airmass**0.6 and wavelength**-0.2); ground-layer AO (WFM-AO) narrows it by a
quarter; NFM (laser tomography AO, 0.025"/spaxel) delivers 0.05-0.09". Sources are
placed at random, at least 3 spaxels from the edges and 5 from each other when room
allows.
"""

from __future__ import annotations

import math

import numpy as np

from qcservice.simulate import spectra
from qcservice.simulate.cube import CubeModel, Source, galaxy_stamp
from qcservice.simulate.layout import Scale
from qcservice.simulate.schedule import ScienceOB

SKY_AMPLITUDE_PER_SIGMA = 0.8  # nominal residual peak, in units of the noise sigma0


def pixscale_arcsec(ins_mode: str) -> float:
    """Spaxel size: 0.2" in WFM, 0.025" in NFM."""
    return 0.025 if ins_mode.startswith("NFM") else 0.2


def psf_fwhm_7000(ob: ScienceOB, rng: np.random.Generator) -> float:
    """Delivered FWHM at 7000 A (arcsec) for the OB's conditions."""
    if ob.ins_mode.startswith("NFM"):
        return round(float(rng.uniform(0.05, 0.09)), 4)
    seeing = float(np.mean([s for e in ob.exposures for s in e.seeing_arcsec]))
    air = float(np.mean([a for e in ob.exposures for a in e.airmass]))
    fwhm = seeing * air ** 0.6 * (7000.0 / 5000.0) ** -0.2
    if "-AO-" in ob.ins_mode:
        fwhm *= 0.75
    return round(fwhm, 4)


def _positions(n: int, nx: int, ny: int, rng: np.random.Generator) -> list[tuple[float, float]]:
    placed: list[tuple[float, float]] = []
    margin = 3.0
    for _ in range(n):
        best = None
        for _attempt in range(200):
            x, y = (float(rng.uniform(margin, nx - 1 - margin)),
                    float(rng.uniform(margin, ny - 1 - margin)))
            best = (x, y)
            if all(math.hypot(x - px, y - py) >= 5.0 for px, py in placed):
                break
        placed.append(best)
    return [(round(x, 3), round(y, 3)) for x, y in placed]


def _sources(scale: Scale, rng: np.random.Generator) -> list[Source]:
    kinds = (["star"] * scale.n_stars + ["galaxy"] * scale.n_galaxies
             + ["emission_line_galaxy"] * scale.n_emitters)
    out = []
    for i, (kind, (x, y)) in enumerate(zip(kinds, _positions(len(kinds), scale.cube_nx,
                                                            scale.cube_ny, rng),
                                           strict=True), start=1):
        if kind == "star":
            src = Source(i, kind, x, y, float(10 ** rng.uniform(1.7, 3.3)),
                         float(rng.uniform(-2.5, 0.5)))
        elif kind == "galaxy":
            src = Source(i, kind, x, y, float(10 ** rng.uniform(1.0, 2.3)),
                         float(rng.uniform(0.0, 1.5)), float(rng.uniform(0.15, 0.6)),
                         scale_length=float(rng.uniform(0.8, 2.5)),
                         axis_ratio=float(rng.uniform(0.4, 1.0)),
                         pa_deg=float(rng.uniform(0, 180)))
        else:
            strength = float(10 ** rng.uniform(2.8, 3.5))
            src = Source(i, kind, x, y, float(rng.uniform(2.0, 10.0)),
                         float(rng.uniform(-1.0, 0.0)), float(rng.uniform(0.1, 0.35)),
                         {name: strength * rel for name, _, rel in spectra.NEBULAR_LINES},
                         scale_length=float(rng.uniform(0.5, 1.2)),
                         axis_ratio=float(rng.uniform(0.5, 1.0)),
                         pa_deg=float(rng.uniform(0, 180)))
        out.append(src)
    return out


def build_model(ob: ScienceOB, scale: Scale, rng: np.random.Generator) -> CubeModel:
    """The cube model of one science OB (deterministic for a given ``rng``)."""
    sign = rng.choice([-1.0, 1.0], 2)
    drift = tuple(round(float(s * rng.uniform(0.02, 0.08)), 4) for s in sign)
    sigma0 = round(1.2 * math.sqrt(2.0 / len(ob.exposures)), 4)
    model = CubeModel(
        nx=scale.cube_nx, ny=scale.cube_ny, pixscale_arcsec=pixscale_arcsec(ob.ins_mode),
        fwhm_7000_arcsec=psf_fwhm_7000(ob, rng), drift_per_1000a=drift,
        sky_amplitude=round(SKY_AMPLITUDE_PER_SIGMA * sigma0, 4),
        sky_rows=np.round(rng.uniform(-1.0, 1.0, scale.cube_ny), 4), sigma0=sigma0,
        poisson=0.02, sources=_sources(scale, rng), notch="-AO-" in ob.ins_mode)
    fwhm_px = model.fwhm_7000_arcsec / model.pixscale_arcsec
    for src in model.sources:
        if src.kind != "star":
            galaxy_stamp(src, fwhm_px, model.nx, model.ny)
    return model


def aperture_radius(model: CubeModel) -> float:
    """Radius (spaxels) of the circular aperture the 1D spectra are summed in."""
    return round(max(2.0, 1.5 * model.fwhm_7000_arcsec / model.pixscale_arcsec), 3)
