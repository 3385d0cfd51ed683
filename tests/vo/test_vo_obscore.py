"""What ObsCore and TAP serve: time coverage from the provenance, units that are VOUnits."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import pyvo
from astropy import units as u
from sqlalchemy import text

from qcservice.vo.obscore_columns import COLUMNS
from qcservice.vo.qcstage import is_vounit

pytestmark = pytest.mark.slow


def test_time_coverage_spans_the_exposures_combined(vo_service):
    """A cube combined from several exposures: t_min the first start, t_max the last
    end, t_exptime the summed exposure (the raw frames' own headers, via their names)."""
    file_id = int(vo_service.embargoed.split("/")[1])
    with vo_service.engine.connect() as conn:
        names = conn.execute(text(
            "SELECT input_name FROM qc.provenance WHERE file_id = :f AND role = 'raw'"),
            {"f": file_id}).scalars().all()
        raws = conn.execute(text(
            "SELECT r.mjd_obs, r.exptime FROM qc.raw_frames r JOIN qc.files f USING (file_id)"
            " WHERE f.filename = ANY(:n) AND r.dpr_catg = 'SCIENCE'"), {"n": names}).all()
    assert len(raws) >= 2
    tap = pyvo.dal.TAPService(vo_service.tap)
    row = tap.search("SELECT t_min, t_max, t_exptime FROM ivoa.obscore WHERE "
                     f"obs_publisher_did = '{vo_service.pubdid(vo_service.embargoed)}'")[0]
    assert row["t_min"] == pytest.approx(min(m for m, _ in raws), abs=1e-8)
    assert row["t_max"] == pytest.approx(max(m + e / 86400 for m, e in raws), abs=1e-8)
    assert row["t_exptime"] == pytest.approx(sum(e for _, e in raws))
    assert row["t_max"] - row["t_min"] > row["t_exptime"] / 86400 * 0.99


def test_every_unit_tap_serves_is_a_vounit(vo_service):
    tap = pyvo.dal.TAPService(vo_service.tap)
    served = tap.search("SELECT DISTINCT table_name, column_name, unit FROM TAP_SCHEMA.columns "
                        "WHERE unit IS NOT NULL", maxrec=100000)
    bad = [(r["table_name"], r["column_name"], r["unit"]) for r in served
           if r["unit"] and not is_vounit(r["unit"])]
    assert not bad
    metrics = tap.search("SELECT DISTINCT unit FROM muse.metrics WHERE unit IS NOT NULL")
    assert len(metrics) >= 3
    assert [r["unit"] for r in metrics if not is_vounit(r["unit"])] == []


def test_extra_columns_are_served_as_declared_once(vo_service):
    """ivoa.obscore, muse.cubes and muse.spectra serve each extra column with the name,
    unit, UCD and description of its one declaration (qcservice/vo/obscore_columns.py)."""
    tap = pyvo.dal.TAPService(vo_service.tap)
    rows = tap.search("SELECT table_name, column_name, unit, ucd, description FROM "
                      "TAP_SCHEMA.columns WHERE table_name IN "
                      "('ivoa.obscore', 'muse.cubes', 'muse.spectra')", maxrec=10000)
    served = {(r["table_name"], r["column_name"]): r for r in rows}
    for c in COLUMNS:
        # a standard ObsCore column (c.standard) is DaCHS's in ivoa.obscore, ours in tables
        tables = (["muse.cubes"] + (["muse.spectra"] if c.spectra else [])
                  + ([] if c.standard else ["ivoa.obscore"]))
        for table in tables:
            r = served[(table, c.name)]
            assert (r["unit"] or "", r["ucd"], " ".join(r["description"].split())) == \
                (c.unit, c.ucd, c.description), (table, c.name)
    cube = tap.search("SELECT n_obs, obstech, last_mod_date, em_ucd FROM ivoa.obscore WHERE "
                      f"obs_publisher_did = '{vo_service.pubdid(vo_service.embargoed)}'")[0]
    assert cube["n_obs"] >= 2 and cube["obstech"] == "IFU" and cube["em_ucd"] == "em.wl"
    assert cube["last_mod_date"] is not None


def _independent_abmaglim(path, fwhm: float) -> float:
    """abmaglim as the column's description says, computed here with astropy and numpy
    on the whole array (publish reads the cube a block of planes at a time)."""
    from astropy.io import fits
    from astropy.wcs import WCS

    with fits.open(path) as hdul:
        data, header = hdul["DATA"].data.astype(np.float64), hdul["DATA"].header
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        white = np.nanmean(data, axis=0)
    diffs = np.concatenate([(white[:, :-2] - 2 * white[:, 1:-1] + white[:, 2:]).ravel(),
                            (white[:-2, :] - 2 * white[1:-1, :] + white[2:, :]).ravel()])
    diffs = diffs[np.isfinite(diffs)]
    sigma = 1.4826 * np.median(np.abs(diffs - np.median(diffs))) / np.sqrt(6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", u.UnitsWarning)     # BUNIT's several slashes
        bunit = u.Unit(header["BUNIT"].replace("Angstrom", "AA"))
    flambda = (sigma * bunit).to(u.erg / u.s / u.cm**2 / u.AA).value
    wcs = WCS(header)
    waves = wcs.spectral.pixel_to_world(np.arange(header["NAXIS3"])).to(u.AA).value
    pixscale = wcs.celestial.proj_plane_pixel_scales()[1].to(u.arcsec).value
    n_spaxels = np.pi * fwhm**2 / pixscale**2
    total = 5 * flambda * np.sqrt(n_spaxels) / (1 - np.exp(-4 * np.log(2)))
    fnu = (total * u.erg / u.s / u.cm**2 / u.AA).to(
        u.erg / u.s / u.cm**2 / u.Hz, u.spectral_density(waves.mean() * u.AA))
    return float(fnu.to(u.ABmag).value)


def test_abmaglim_of_the_real_cube(vo_service):
    """The minicube's abmaglim agrees with an independent computation, and is a
    sensible depth for a MUSE cube (single exposures reach ~24-26 AB)."""
    tap = pyvo.dal.TAPService(vo_service.tap)
    row = tap.search("SELECT abmaglim, s_resolution FROM ivoa.obscore WHERE "
                     f"obs_publisher_did = '{vo_service.pubdid(vo_service.public)}'")[0]
    fwhm = float(row["s_resolution"]) if row["s_resolution"] else 0.8
    expected = _independent_abmaglim(vo_service.minicube, fwhm)
    assert float(row["abmaglim"]) == pytest.approx(expected, abs=2e-3)
    assert 22 < row["abmaglim"] < 28


def test_spectra_rows_carry_snr_datalink_exposure_and_creator(vo_service):
    """A spectrum's ObsCore row: snr = the median FLUX/ERR of its file, access_url its
    DataLink, t_exptime filled, obs_creator_did the consortium's (it made the product)."""
    from astropy.io import fits

    did = vo_service.pubdid(vo_service.spectrum)
    with vo_service.engine.connect() as conn:
        path = conn.execute(text("SELECT path FROM qc.files WHERE file_id = :f"),
                            {"f": int(vo_service.spectrum.split("/")[1])}).scalar_one()
    with fits.open(path) as hdul:
        flux, err = (np.ravel(hdul["SPECTRUM"].data[c]).astype(float) for c in ("FLUX", "ERR"))
    good = np.isfinite(flux) & np.isfinite(err) & (err > 0)
    tap = pyvo.dal.TAPService(vo_service.tap)
    row = tap.search("SELECT snr, access_url, access_format, t_exptime, obs_creator_did, "
                     "abmaglim FROM ivoa.obscore WHERE "
                     f"obs_publisher_did = '{did}'")[0]
    assert float(row["snr"]) == pytest.approx(np.median(flux[good] / err[good]), rel=1e-5)
    assert "/muse/ssa/dl/dlmeta?ID=" in row["access_url"]
    assert row["access_format"] == "application/x-votable+xml;content=datalink"
    assert row["t_exptime"] > 0
    assert row["obs_creator_did"] == did
    cube = tap.search("SELECT snr, obs_creator_did, obs_publisher_did FROM ivoa.obscore "
                      f"WHERE obs_publisher_did = '{vo_service.pubdid(vo_service.public)}'")[0]
    assert cube["obs_creator_did"] == cube["obs_publisher_did"]
    snr = cube["snr"]     # NULL: pyvo gives a masked value or NaN
    assert snr is None or np.ma.is_masked(snr) or np.isnan(snr)
