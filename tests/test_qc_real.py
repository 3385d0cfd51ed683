"""QC on the real MUSE cube of the mpdaf wheel (minicube.fits: Abell 478, reduced by ESO,
a cD galaxy filling the 40 x 40 field): the noise model is measured from the data, the
galaxy is never taken for a PSF star, its outskirts are not taken for sky unawares."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from sqlalchemy import Engine, text

from qcservice.ingest.runner import ingest_paths
from qcservice.qc.cubeio import PlaneReader, geometry
from qcservice.qc.cubeqc import cube_qc
from qcservice.qc.run import run_qc
from qcservice.qc.sky import OTHER_SKY_LINES_A, line_amplitudes, residual_statistic
from qcservice.vocabulary import SKY_LINES_A


def _metrics(result) -> dict[str, float]:
    return {m.name: m.value for m in result.metrics if m.subunit is None}


@pytest.fixture(scope="module")
def real(minicube: Path) -> dict[str, float]:
    return _metrics(cube_qc(str(minicube), None, None))


def test_no_psf_star_in_a_galaxy(real: dict[str, float]) -> None:
    assert real["psf.nstars"] == 0
    assert "psf.fwhm" not in real


def test_sky_noise_is_measured_and_the_residual_is_a_warning(real: dict) -> None:
    # the drizzled cube's matched filter is ~1.3x noisier than STAT says
    assert 1.15 < real["sky.noise_scale"] < 1.45
    assert real["sky.null_ratio"] == pytest.approx(1.0, abs=0.1)
    assert 2.0 < real["sky.residual_ratio"] < 3.0          # a warning, not an error
    # the evidence: how many spaxels, which lines, and that they are not clean sky
    assert real["sky.nspaxels"] >= 100 and real["sky.nlines"] == 21
    assert real["sky.verified"] == 0 and real["sky.continuum_sigma"] > 2


def test_empirical_null_at_random_off_line_wavelengths(minicube: Path,
                                                       real: dict[str, float]) -> None:
    """The sky statistic at 20 random sets of 21 wavelengths away from every sky line,
    over the calibrated noise: within 10 % of 1 (STAT alone: ~1.3)."""
    geo = geometry(str(minicube))
    data = np.asarray(PlaneReader(str(minicube), geo, geo.data)[:], dtype=np.float64)
    var = np.asarray(PlaneReader(str(minicube), geo, geo.stat)[:], dtype=np.float64)
    white = np.nanmean(data, axis=0).ravel()
    sky = np.argsort(white)[: int(0.4 * white.size)]
    wave = geo.wave()
    rng = np.random.default_rng(20)
    known = np.array([*SKY_LINES_A, *OTHER_SKY_LINES_A])
    pool = rng.uniform(wave[0] + 15, wave[-1] - 15, 4000)
    pool = pool[np.min(np.abs(pool[:, None] - known[None]), axis=1) > 20]
    raw = []
    for _ in range(20):
        amp, err, _ = line_amplitudes(data.reshape(geo.nz, -1)[:, sky],
                                         var.reshape(geo.nz, -1)[:, sky], wave,
                                         tuple(rng.choice(pool, 21, replace=False)))
        rms, noise = residual_statistic(amp, err)
        raw.append(rms / noise)
    assert np.median(raw) > 1.15                            # STAT misses the correlation
    assert np.median(raw) / real["sky.noise_scale"] == pytest.approx(1.0, abs=0.1)


def test_without_seeing_keywords_no_psf_and_no_failure(engine: Engine, minicube: Path,
                                                      tmp_path: Path) -> None:
    """Ingested and checked like any cube, without its TEL AMBI FWHM keywords: no PSF
    star (not WIDE_PSF), BAD_SKY_SUB a warning at most, the product not failed."""
    path = tmp_path / "minicube-noseeing.fits"
    shutil.copy(minicube, path)
    with fits.open(path, mode="update") as hdul:
        for key in ("ESO TEL AMBI FWHM START", "ESO TEL AMBI FWHM END"):
            del hdul[0].header[key]
    ingest_paths(engine, [path], workers=1, checksum=False)
    report = run_qc(engine, tmp_path / "images", workers=1)
    assert report.ok, report.failures
    with engine.connect() as conn:
        qa = conn.execute(text("SELECT state, flags FROM qc.qa")).one()
        dimm = conn.execute(text("SELECT dimm_fwhm FROM qc.products")).scalar_one()
        evidence = dict(conn.execute(text(
            "SELECT name, value FROM qc.metrics WHERE source = 'computed' AND subunit IS NULL "
            "AND name IN ('psf.nstars', 'sky.nspaxels', 'sky.nlines', 'sky.verified')")).all())
    assert dimm is None
    assert "NO_PSF_STARS" in qa.flags and "WIDE_PSF" not in qa.flags
    assert sorted(qa.flags) == ["BAD_SKY_SUB", "NO_PSF_STARS", "NO_SKY_REGION"]
    assert qa.state == "Usable"              # warnings only: a healthy ESO cube passes
    assert evidence["psf.nstars"] == 0 and evidence["sky.nlines"] == 21
    assert evidence["sky.nspaxels"] > 0 and evidence["sky.verified"] == 0
