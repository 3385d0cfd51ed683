"""What ObsCore and TAP serve: time coverage from the provenance, units that are VOUnits."""

from __future__ import annotations

import warnings

import pytest
import pyvo
from astropy import units as u
from sqlalchemy import text

from qcservice.vo.obscore_columns import COLUMNS

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


def _vounit_ok(unit: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            u.Unit(unit, format="vounit")
            return True
        except (ValueError, Warning):
            return False


def test_every_unit_tap_serves_is_a_vounit(vo_service):
    tap = pyvo.dal.TAPService(vo_service.tap)
    served = tap.search("SELECT DISTINCT table_name, column_name, unit FROM TAP_SCHEMA.columns "
                        "WHERE unit IS NOT NULL", maxrec=100000)
    bad = [(r["table_name"], r["column_name"], r["unit"]) for r in served
           if r["unit"] and not _vounit_ok(r["unit"])]
    assert not bad
    metrics = tap.search("SELECT DISTINCT unit FROM muse.metrics WHERE unit IS NOT NULL")
    assert len(metrics) >= 3
    assert [r["unit"] for r in metrics if not _vounit_ok(r["unit"])] == []


def test_extra_columns_are_served_as_declared_once(vo_service):
    """ivoa.obscore, muse.cubes and muse.spectra serve each extra column with the name,
    unit, UCD and description of its one declaration (qcservice/vo/obscore_columns.py)."""
    tap = pyvo.dal.TAPService(vo_service.tap)
    rows = tap.search("SELECT table_name, column_name, unit, ucd, description FROM "
                      "TAP_SCHEMA.columns WHERE table_name IN "
                      "('ivoa.obscore', 'muse.cubes', 'muse.spectra')", maxrec=10000)
    served = {(r["table_name"], r["column_name"]): r for r in rows}
    for c in COLUMNS:
        tables = ["ivoa.obscore", "muse.cubes"] + (["muse.spectra"] if c.spectra else [])
        for table in tables:
            r = served[(table, c.name)]
            assert (r["unit"] or "", r["ucd"], " ".join(r["description"].split())) == \
                (c.unit, c.ucd, c.description), (table, c.name)
    cube = tap.search("SELECT n_obs, obstech, last_mod_date, em_ucd FROM ivoa.obscore WHERE "
                      f"obs_publisher_did = '{vo_service.pubdid(vo_service.embargoed)}'")[0]
    assert cube["n_obs"] >= 2 and cube["obstech"] == "IFU" and cube["em_ucd"] == "em.wl"
    assert cube["last_mod_date"] is not None
