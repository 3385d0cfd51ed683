"""WAVECAL_TABLE of one IFU: the wavelength solution per slice and ``QC WAVECAL`` values.

The simulated CCD has a linear dispersion along y, the same for every slice up to a
small offset (``slice_shift_a``, which the table records):
``lambda(y) = wlc00 + wlc01 * (y - 1)`` with y the 1-based row of the trimmed image
(wlc02, wlc10, wlc11, wlc20 -- curvature and tilt terms -- are zero). Line peaks are
measured on the raw arc pixels at the centre column of each slice; line widths, fit
residuals and the other QC values are drawn around MUSE-like numbers (FWHM ~2.3
pixels of the real CCD, resolving power ~2000-4000, RMS ~0.03 A).
"""

from __future__ import annotations

import numpy as np
from astropy.table import Table

from qcservice.simulate import spectra
from qcservice.simulate.cards import CardSpec
from qcservice.simulate.detector import IfuDetector
from qcservice.simulate.layout import CcdLayout, slice_columns
from qcservice.simulate.masters import electrons
from qcservice.vocabulary import N_SLICE

REFERENCE_WAVE_A = 7000.0
REAL_DISPERSION_A = 1.25  # A per pixel of the real CCD, for the line widths in pixels


def dispersion(layout: CcdLayout) -> tuple[float, float]:
    """(wavelength at the centre of row 1, A per row) of the trimmed image."""
    edges = spectra.ccd_row_edges(2 * layout.ny)
    step = float(edges[1] - edges[0])
    return float(edges[0]) + 0.5 * step, step


def _peaks(image: np.ndarray, layout: CcdLayout, slice_no: int) -> np.ndarray:
    """Peak electrons above background of each arc line at the slice's centre column."""
    cols = slice_columns(layout, slice_no)
    column = image[:, (cols.start + cols.stop - 1) // 2]
    wave0, step = dispersion(layout)
    background = float(np.median(column))
    peaks = []
    for center, _ in spectra.ARC_LINES:
        row = round((center - wave0) / step)
        lo, hi = max(row - 1, 0), min(row + 2, column.size)
        peaks.append(float(column[lo:hi].max()) - background)
    return np.array(peaks)


def wavecal(layout: CcdLayout, det: IfuDetector, arc_chans: list[np.ndarray],
            rng: np.random.Generator) -> tuple[Table, list[CardSpec], dict]:
    """The table, QC cards and truth summary of one IFU's wavelength calibration, from
    the arcs of all lamps (one lamp each) summed."""
    image = np.sum([electrons(layout, det, c) for c in arc_chans], axis=0)
    wave0, step = dispersion(layout)
    n_lines = len(spectra.ARC_LINES)
    rows: dict[str, list] = {k: [] for k in ("SliceNo", "MSE", "wlc00", "wlc01", "wlc02",
                                             "wlc10", "wlc11", "wlc20")}
    qc: list[CardSpec] = []
    shifts = []
    for j in range(1, N_SLICE + 1):
        shift = float(rng.normal(0.0, 0.02))
        shifts.append(round(shift, 4))
        rms = float(abs(rng.normal(0.03, 0.006)))
        fwhm = 2.355 * spectra.LSF_SIGMA_A / REAL_DISPERSION_A * rng.normal(1.0, 0.03, n_lines)
        peaks = _peaks(image, layout, j)
        n_det = n_lines - int(rng.integers(0, 2))
        n_id = n_det - int(rng.integers(0, 2))
        for key, value in (("SliceNo", j), ("MSE", rms ** 2), ("wlc00", wave0 + shift),
                           ("wlc01", step), ("wlc02", 0.0), ("wlc10", 0.0),
                           ("wlc11", 0.0), ("wlc20", 0.0)):
            rows[key].append(value)
        s = f"ESO QC WAVECAL SLICE{j}"
        qc += [(f"{s} LINES NDET", n_det, "Number of detected arc lines"),
               (f"{s} LINES NID", n_id, "Number of identified arc lines"),
               (f"{s} LINES PEAK MEAN", float(peaks.mean()), "[count] Mean peak count"),
               (f"{s} LINES PEAK STDEV", float(peaks.std()), "[count] Stdev of peaks"),
               (f"{s} LINES PEAK MIN", float(peaks.min()), "[count] Faintest line peak"),
               (f"{s} LINES PEAK MAX", float(peaks.max()), "[count] Brightest line peak"),
               (f"{s} LINES FWHM MEAN", float(fwhm.mean()), "Mean FWHM of arc lines"),
               (f"{s} LINES FWHM STDEV", float(fwhm.std()), "Stdev of FWHM of arc lines"),
               (f"{s} LINES FWHM MIN", float(fwhm.min()), "Minimum FWHM of arc lines"),
               (f"{s} LINES FWHM MAX", float(fwhm.max()), "Maximum FWHM of arc lines"),
               (f"{s} RESOL", float(REFERENCE_WAVE_A / (fwhm.mean() * REAL_DISPERSION_A)),
                "Mean spectral resolution R"),
               (f"{s} FIT NLINES", n_id - int(rng.integers(0, 2)), "Arc lines used in fit"),
               (f"{s} FIT RMS", rms, "[Angstrom] RMS of the wavelength fit"),
               (f"{s} DWLEN BOTTOM", float(rng.normal(0.0, 0.05)), "[Angstrom] dlambda"),
               (f"{s} DWLEN TOP", float(rng.normal(0.0, 0.05)), "[Angstrom] dlambda"),
               (f"{s} WLPOS", (REFERENCE_WAVE_A - wave0 - shift) / step + 1.0,
                "[pix] Position of wavelength WLEN"),
               (f"{s} WLEN", REFERENCE_WAVE_A, "[Angstrom] Wavelength at WLPOS")]
    table = Table(rows)
    table["SliceNo"] = table["SliceNo"].astype(np.int32)
    for name in ("wlc00", "wlc01"):
        table[name].unit = "Angstrom" if name == "wlc00" else "Angstrom/pixel"
    return table, qc, {"wave_row1_a": round(wave0, 4), "dispersion_a_per_row": round(step, 6),
                       "slice_shift_a": shifts}
