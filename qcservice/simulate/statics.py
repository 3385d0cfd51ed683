"""The static calibrations the pipeline needs and Debian does not ship, consistent with
what the simulator injects.

Debian's cpl-plugin-muse has no calibration kit (its README.Debian: the ``-calib``
package downloads it from ESO). The simulator writes its own, in the formats the
recipes read: LINE_CATALOG (muse_wavecal 2.8.7: primary ``VERSION = 3``; a table of
float ``lambda`` [Angstrom], ``flux`` [electrons per column of one arc], ``ion``,
``quality``) listing exactly the injected arc lines. ``musedc reduce statics DIR``
writes them; ``musedc reduce --static DIR`` reads them. They are not written into a
night's folder: ``musedc ingest`` would refuse them (no DATE-OBS).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.io import fits

from qcservice.simulate.arclamps import line_catalog_rows
from qcservice.simulate.headers import PIPE_ID

STATIC_DIR = "static"
LINE_CATALOG_VERSION = 3


def _primary(pro_catg: str) -> fits.PrimaryHDU:
    hdu = fits.PrimaryHDU()
    for key, value, comment in (("INSTRUME", "MUSE", "Instrument used"),
                                ("ESO PRO CATG", pro_catg, "Category of pipeline product"),
                                ("ESO PRO TYPE", "STATIC", "Product type"),
                                ("ESO PRO REC1 PIPE ID", PIPE_ID, "Pipeline version")):
        hdu.header[f"HIERARCH {key}" if key.startswith("ESO") else key] = (value, comment)
    return hdu


def line_catalog() -> fits.HDUList:
    """LINE_CATALOG: the injected HgCd, Ne and Xe lines."""
    rows = line_catalog_rows()
    table = fits.BinTableHDU.from_columns([
        fits.Column("lambda", "E", "Angstrom", array=np.array([r[0] for r in rows], np.float32)),
        fits.Column("flux", "E", array=np.array([r[1] for r in rows], np.float32)),
        fits.Column("ion", "8A", array=np.array([r[2] for r in rows])),
        fits.Column("quality", "J", array=np.array([r[3] for r in rows], np.int32))],
        name="LINE_CATALOG")
    primary = _primary("LINE_CATALOG")
    primary.header["VERSION"] = (LINE_CATALOG_VERSION, "Format version muse_wavecal reads")
    return fits.HDUList([primary, table])


def write_statics(outdir: Path | str, name: str = STATIC_DIR) -> list[Path]:
    """Write the static calibrations to ``outdir/name``; returns their paths."""
    folder = Path(outdir) / name
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in (("line_catalog.fits", line_catalog),):
        path = folder / name
        make().writeto(path, overwrite=True, checksum=False)
        written.append(path)
    return written
