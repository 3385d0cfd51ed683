"""The static calibrations the pipeline needs and Debian does not ship, consistent with
what the simulator injects.

Debian's cpl-plugin-muse has no calibration kit (its README.Debian: the ``-calib``
package downloads it from ESO). The simulator writes its own, in the formats the
recipes read (column names and units as libmuse 2.8.7 defines them):

- LINE_CATALOG (muse_wavecal: primary ``VERSION = 3``; float ``lambda`` [Angstrom],
  ``flux`` [electrons per column of one arc], ``ion``, ``quality``): exactly the
  injected arc lines.
- GEOMETRY_TABLE (muse_scibasic: ``SubField``, ``SliceCCD``, ``SliceSky``, ``x``, ``y``
  [pix], ``angle`` [deg], ``width`` [pix] and their ``...err``): the simulator's
  field of view, :mod:`qcservice.simulate.geometry`.
- EXTINCT_TABLE (muse_scipost: ``lambda``, ``extinction`` [mag/airmass]): zero, as the
  simulator puts no atmosphere between its scene and the telescope.
- STD_RESPONSE (muse_scipost: ``lambda``, ``response`` [2.5 log10 of electrons/s/A per
  erg/s/cm**2/A], ``resperr``): the simulator's telescope and instrument
  (`spectra.TELESCOPE_AREA_CM2` x `spectra.THROUGHPUT`) seen through the lamp flat, as
  muse_standard would measure it on a standard star: muse_scibasic divides the data by
  the master flat, which holds the lamp's spectrum over its mean (muse_flat
  normalises to the mean of the whole image, unlit columns included).
- FILTER_LIST (muse_scipost's field-of-view images: one table extension per filter,
  ``lambda``, ``throughput``): ``white`` over MUSE's range and smooth top-hat
  approximations of Johnson V, Cousins R and I (not the real curves).

SKY_LINES and LSF_PROFILE are not written: ESO's association (``maxRet = 0`` in
muse.oca) never gives them to muse_scipost, whose sky subtraction ``musedc reduce``
runs with ``--skymethod=simple`` (see :data:`qcservice.reduce.associate.EXTRA_PARAMS`).
``musedc reduce statics DIR``
writes them; ``musedc reduce --static DIR`` reads them. They are not written into a
night's folder: ``musedc ingest`` would refuse them (no DATE-OBS).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from types import SimpleNamespace

import numpy as np
from astropy.io import fits

from qcservice.simulate.arclamps import line_catalog_rows
from qcservice.simulate.geometry import geometry_rows
from qcservice.simulate.headers import PIPE_ID
from qcservice.simulate.layout import SCALES
from qcservice.simulate.signals import row_wavelengths, slice_illumination
from qcservice.simulate.spectra import (
    CCD_WAVE_MAX_A,
    CCD_WAVE_MIN_A,
    lamp_continuum,
    response_mag,
)
from qcservice.vocabulary import INS_MODES, N_SLICE

STATIC_DIR = "static"
LINE_CATALOG_VERSION = 3
FILTERS = {"white": (4650.0, 9300.0), "Johnson_V": (4800.0, 6300.0),
           "Cousins_R": (5600.0, 7800.0), "Cousins_I": (7100.0, 9200.0)}
FILTER_EDGE_A = 100.0  # width of a filter's cosine-shaped edges


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


def _table(name: str, columns: list[tuple[str, str, str, np.ndarray]]) -> fits.BinTableHDU:
    return fits.BinTableHDU.from_columns(
        [fits.Column(n, f, u or None, array=a) for n, f, u, a in columns], name=name)


def _grid(step: float = 10.0) -> np.ndarray:
    """Wavelengths (A) covering the simulated CCD."""
    return np.arange(CCD_WAVE_MIN_A - 50.0, CCD_WAVE_MAX_A + 50.0 + step, step)


def geometry_table() -> fits.HDUList:
    """GEOMETRY_TABLE: where the simulator puts each slice of each IFU on the sky."""
    rows = geometry_rows()
    ints, units = ("SubField", "SliceCCD", "SliceSky"), {"angle": "deg", "angleerr": "deg"}
    columns = [(k, "J" if k in ints else "D", "" if k in ints else units.get(k, "pix"),
                np.array([r[k] for r in rows])) for k in rows[0]]
    return fits.HDUList([_primary("GEOMETRY_TABLE"), _table("GEOMETRY_TABLE", columns)])


def extinct_table() -> fits.HDUList:
    """EXTINCT_TABLE: no extinction (the simulated sky does not dim its scene)."""
    lam = _grid(50.0)
    return fits.HDUList([_primary("EXTINCT_TABLE"), _table("EXTINCT_TABLE", [
        ("lambda", "D", "Angstrom", lam), ("extinction", "D", "mag/airmass", 0 * lam)])])


def flat_fielded_response_mag(lam: np.ndarray) -> np.ndarray:
    """:func:`response_mag` of flat-fielded data: divided by the lamp's spectrum over
    the master flat's mean (lamp over the CCD's rows x lit fraction of its columns;
    the slices' efficiencies average out to 1)."""
    layout = SCALES["full"].layout
    ideal = SimpleNamespace(slice_efficiency=(1.0,) * N_SLICE)   # a detector's stand-in
    mean = (lamp_continuum(row_wavelengths(layout)).mean()
            * slice_illumination(layout, ideal).mean())
    return response_mag(lam) + 2.5 * np.log10(mean / lamp_continuum(lam))


def std_response(ins_mode: str) -> fits.HDUList:
    """STD_RESPONSE of one instrument mode (muse.oca selects it by INS.MODE): the
    simulator's flux calibration of flat-fielded data, exact (errors tiny, not zero:
    they are propagated)."""
    lam = _grid()
    primary = _primary("STD_RESPONSE")
    primary.header["HIERARCH ESO INS MODE"] = (ins_mode, "Instrument mode used")
    return fits.HDUList([primary, _table("STD_RESPONSE", [
        ("lambda", "D", "Angstrom", lam),
        ("response", "D", "mag", flat_fielded_response_mag(lam)),
        ("resperr", "D", "mag", np.full(lam.size, 1e-4))])])


def filter_throughput(lam: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """1 between ``lo`` and ``hi``, falling to 0 over :data:`FILTER_EDGE_A` (cosine)."""
    d = np.maximum(lo - lam, lam - hi).clip(0, FILTER_EDGE_A) / FILTER_EDGE_A
    return 0.5 * (1 + np.cos(np.pi * d))


def filter_list() -> fits.HDUList:
    """FILTER_LIST: one extension per filter, named as scipost's --filter names it."""
    lam = _grid(5.0)
    hdus = []
    for name, (lo, hi) in FILTERS.items():
        hdu = _table(name, [("lambda", "D", "Angstrom", lam),
                            ("throughput", "D", "", filter_throughput(lam, lo, hi))])
        hdu.header["EXTNAME"] = name   # as written: scipost matches it case-sensitively
        hdus.append(hdu)
    return fits.HDUList([_primary("FILTER_LIST"), *hdus])


STATICS = {"line_catalog.fits": line_catalog, "geometry_table.fits": geometry_table,
           "extinct_table.fits": extinct_table, "filter_list.fits": filter_list,
           **{f"std_response_{m.lower()}.fits": partial(std_response, m) for m in INS_MODES}}


def write_statics(outdir: Path | str, name: str = STATIC_DIR) -> list[Path]:
    """Write the static calibrations to ``outdir/name``; returns their paths."""
    folder = Path(outdir) / name
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in STATICS.items():
        path = folder / name
        make().writeto(path, overwrite=True, checksum=False)
        written.append(path)
    return written
