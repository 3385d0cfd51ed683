"""Small MUSE-like FITS files for edge cases the simulator does not make on purpose.

Written with astropy, so the reader under test is checked against the reference
implementation's bytes. Pixels are tiny: these files exercise headers, not data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits

BASE = {
    "INSTRUME": "MUSE",
    "TELESCOP": "ESO-VLT-U4",
    "DATE-OBS": "2024-03-10T03:15:00.000",
    "MJD-OBS": 60379.135416667,
    "EXPTIME": 600.0,
    "OBJECT": "NGC 4650A",
    "RA": 190.97,
    "DEC": -40.71,
    "PI-COI": "BACON",
    "OBSERVER": "UNKNOWN",
    "HIERARCH ESO INS MODE": "WFM-NOAO-N",
    "HIERARCH ESO OBS PROG ID": "0112.A-0001(A)",
    "HIERARCH ESO OBS ID": 3300123,
    "HIERARCH ESO OBS TARG NAME": "NGC4650A",
    "HIERARCH ESO TEL AIRM START": 1.10,
    "HIERARCH ESO TEL AIRM END": 1.14,
    "HIERARCH ESO TEL AMBI FWHM START": 0.80,
    "HIERARCH ESO TEL AMBI FWHM END": 0.90,
    "HIERARCH ESO INS DROT POSANG": 30.0,
}


def _header(cards: dict) -> fits.Header:
    header = fits.Header()
    for key, value in cards.items():
        if value is None:
            continue
        name = key if key.startswith("HIERARCH") or len(key) <= 8 else f"HIERARCH {key}"
        header[name] = value
    return header


def write_raw(path: Path, *, dpr: tuple[str, str, str] = ("SCIENCE", "OBJECT", "IFU"),
              n_chan: int = 24, drop: tuple[str, ...] = (), **cards: object) -> Path:
    """A raw frame: empty primary + CHAN01..CHANnn uint16 extensions of 8 x 8 pixels."""
    primary = {**BASE, "HIERARCH ESO DPR CATG": dpr[0], "HIERARCH ESO DPR TYPE": dpr[1],
               "HIERARCH ESO DPR TECH": dpr[2], **cards}
    for key in drop:
        primary.pop(key, None)
    hdus = [fits.PrimaryHDU(header=_header(primary))]
    for ifu in range(1, n_chan + 1):
        data = np.full((8, 8), 1000 + ifu, dtype=np.uint16)
        hdus.append(fits.ImageHDU(data, name=f"CHAN{ifu:02d}"))
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return path


def write_master(path: Path, pro_catg: str, ifu: int, qc: dict[str, tuple[float, str]],
                 **cards: object) -> Path:
    """A per-IFU master calibration with QC keywords {'BIAS MASTER1 RON': (2.5, 'adu')}."""
    primary = {**BASE, "HIERARCH ESO PRO CATG": pro_catg, "HIERARCH ESO PRO TYPE": "REDUCED",
               "HIERARCH ESO PRO REC1 ID": "muse_bias",
               "HIERARCH ESO PRO REC1 PIPE ID": "muse/2.8.7",
               "HIERARCH ESO PRO REC1 RAW1 NAME": "MUSE.2024-03-10T10:00:00.000.fits",
               "HIERARCH ESO PRO REC1 RAW1 CATG": "BIAS",
               "HIERARCH ESO DET CHIP NAME": f"CHAN{ifu:02d}", **cards}
    header = _header(primary)
    for key, (value, unit) in qc.items():
        header[f"HIERARCH ESO QC {key}"] = (value, f"[{unit}] test value")
    data = np.zeros((8, 8), dtype=np.float32)
    fits.HDUList([fits.PrimaryHDU(header=header),
                  fits.ImageHDU(data, name="DATA")]).writeto(path, overwrite=True)
    return path
