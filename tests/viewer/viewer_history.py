"""A catalogue with history for the review, trend and heat map tests: N nights of five
raw biases (24 IFUs x 4 quadrants, the read noise drifting slowly, one IFU noisy on
one night), a raw science frame with DIMM seeing and a cube per night (one with bad sky
subtraction, one without PSF stars). The flags, IFU validity and QA states are made by
QC's own code (``qc.thresholds.sync`` of the shipped thresholds, ``qc.evaluate``,
``qc.record.apply_verdict``) from these metric values, as a QC run would."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, text
from viewer_support import add_file

from qcservice.db.schema import tables
from qcservice.qc import thresholds
from qcservice.qc.evaluate import evaluate
from qcservice.qc.record import apply_verdict

FIRST = dt.date(2024, 1, 1)
NOISY = (17, 5)         # IFU 17 is noisy on night index 5
BAD_SKY_NIGHT = 3       # the cube of night index 3 has bad sky subtraction
NO_STARS_NIGHT = 4      # the cube of night index 4 has no PSF star


def _metrics(conn: Connection, fid: int, values: list[tuple]) -> None:
    conn.execute(text("INSERT INTO qc.metrics (file_id, ifu, subunit, name, value, unit, "
                      "source) VALUES (:f, :i, :s, :n, :v, :u, 'computed')"),
                 [{"f": fid, "i": i, "s": s, "n": n, "v": v, "u": u}
                  for i, s, n, v, u in values])


def add_raw_level(conn: Connection, fid: int, value: float = 1234.5) -> None:
    """A raw.level of ``value`` on each of the 24 IFUs of file ``fid`` (no verdict)."""
    _metrics(conn, fid, [(ifu, None, "raw.level", value, None) for ifu in range(1, 25)])


def _qc(conn: Connection, fid: int, night: dt.date, mode: str, limits) -> None:
    found = conn.execute(text("SELECT ifu, subunit, name, value FROM qc.metrics "
                              "WHERE file_id = :f"), {"f": fid}).all()
    apply_verdict(conn, fid, evaluate([tuple(r) for r in found], limits, night, mode))


def _night(conn: Connection, k: int, night: dt.date, limits, n_bias: int) -> dict:
    ids: dict = {"bias": []}
    when = dt.datetime.combine(night, dt.time(21))
    for b in range(n_bias):
        fid = add_file(conn, f"MUSE.{night}T21:0{b}.BIAS.fits", "raw", dpr_catg="CALIB",
                       dpr_type="BIAS", object="BIAS", exptime=0.0, night=night,
                       date_obs=when + dt.timedelta(minutes=b))
        ron = []
        for ifu in range(1, 25):
            noisy = 3.0 if (ifu, k) == NOISY else 1.0
            for q in range(1, 5):
                value = (2.6 + 0.004 * k + 0.01 * ifu + 0.02 * q + 0.003 * b) * noisy
                ron.append((ifu, str(q), "bias.ron_e", value, "e-"))
        _metrics(conn, fid, ron)
        _qc(conn, fid, night, "WFM-NOAO-N", limits)
        ids["bias"].append(fid)
    ids["science"] = add_file(conn, f"MUSE.{night}T23:00.OBJ.fits", "raw", dpr_catg="SCIENCE",
                              dpr_type="OBJECT", object="A478", exptime=900.0, night=night,
                              dimm_fwhm=0.7 + 0.02 * (k % 7), date_obs=when + dt.timedelta(hours=2))
    cube = add_file(conn, f"DATACUBE_FINAL_{night}.fits", "product", pro_catg="DATACUBE_FINAL",
                    object="A478", exptime=900.0, night=night, dimm_fwhm=0.7 + 0.02 * (k % 7),
                    date_obs=when + dt.timedelta(hours=2))
    _metrics(conn, cube, [
        (None, "7000", "psf.fwhm", 0.75 + 0.02 * (k % 7), "arcsec"),
        (None, None, "psf.nstars", 0.0 if k == NO_STARS_NIGHT else 3.0, ""),
        (None, None, "sky.residual_ratio", 14.5 if k == BAD_SKY_NIGHT else 1.1, "")])
    _qc(conn, cube, night, "WFM-NOAO-N", limits)
    ids["cube"] = cube
    return ids


def populate_history(conn: Connection, engine, nights: int = 8, n_bias: int = 5) -> list[dict]:
    """``nights`` nights from FIRST; returns each night's ids ({'bias': [...], 'cube',
    'science'}). Users and groups come from ``viewer_support.populate`` first."""
    thresholds.sync(conn, tables(engine))
    limits = thresholds.ThresholdSet(thresholds.load(conn))
    return [_night(conn, k, FIRST + dt.timedelta(days=k), limits, n_bias)
            for k in range(nights)]
