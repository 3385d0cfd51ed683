"""Light on the CCD: the electrons each kind of raw exposure puts on the data pixels.

Images are trimmed (``2 ny`` rows by ``2 nx`` columns, float32, electrons). Wavelength
runs along y (rows), from 4430 A at the bottom to 9570 A at the top (1.25 A per row at
full size); the 48 slices lie side by side along x (see :func:`layout.slice_columns`).
Most images are the outer product of a spectrum along y and the slice illumination.
"""

from __future__ import annotations

import numpy as np

from qcservice.simulate import arclamps, spectra
from qcservice.simulate.cube import CubeModel
from qcservice.simulate.detector import IfuDetector
from qcservice.simulate.faults import Faults
from qcservice.simulate.layout import CcdLayout, slice_columns
from qcservice.simulate.schedule import Exposure
from qcservice.simulate.slicer import covers_field, stars_on_ccd
from qcservice.vocabulary import N_SLICE

FLAT_LEVEL_E = 20000.0  # lamp-flat electrons per pixel at the lamp's peak, in 15 s
SATURATING_E = 2.0e6  # electrons in the saturated patch of the faulty flat
DEAD_SLICE_FRACTION = 0.005  # light left in a dead slice
GAP_FRACTION = 0.002  # light between slices


def slice_illumination(layout: CcdLayout, det: IfuDetector,
                       dead_slice: int | None = None) -> np.ndarray:
    """Relative illumination of each trimmed column (slice efficiency, gaps ~0)."""
    profile = np.full(2 * layout.nx, GAP_FRACTION)
    for j in range(1, N_SLICE + 1):
        level = det.slice_efficiency[j - 1]
        if j == dead_slice:
            level *= DEAD_SLICE_FRACTION
        profile[slice_columns(layout, j)] = level
    return profile


def saturated_patch(layout: CcdLayout) -> tuple[slice, slice]:
    """Rows and columns (trimmed) of the saturated patch of the faulty flat."""
    rows, cols = layout.trimmed_shape
    return slice(int(0.4 * rows), int(0.6 * rows)), slice(int(0.2 * cols), int(0.3 * cols))


def _outer(spectrum: np.ndarray, profile: np.ndarray) -> np.ndarray:
    return spectrum.astype(np.float32)[:, None] * profile.astype(np.float32)[None, :]


def row_wavelengths(layout: CcdLayout) -> np.ndarray:
    """Central wavelength (A) of each trimmed row."""
    edges = spectra.ccd_row_edges(2 * layout.ny)
    return 0.5 * (edges[:-1] + edges[1:])


def _flat(exp: Exposure, layout: CcdLayout, det: IfuDetector, faults: Faults,
          first_mode: str) -> np.ndarray:
    dead = faults.dead_slice[1] if faults.dead_slice and faults.dead_slice[0] == det.ifu \
        else None
    level = FLAT_LEVEL_E * exp.exptime_s / 15.0
    image = _outer(level * spectra.lamp_continuum(row_wavelengths(layout)),
                   slice_illumination(layout, det, dead))
    if faults.saturated_flat_ifu == det.ifu and exp.ins_mode == first_mode:
        image[saturated_patch(layout)] = SATURATING_E
    return image


def _sky_and_source(exp: Exposure, layout: CcdLayout, det: IfuDetector,
                    scene: CubeModel | None) -> np.ndarray:
    edges = spectra.ccd_row_edges(2 * layout.ny)
    scale = exp.exptime_s / 900.0
    rows_per_a = (2 * layout.ny) / (edges[-1] - edges[0])
    sky = scale * (30.0 + 4000.0 * rows_per_a * spectra.sky_lines_on_rows(2 * layout.ny))
    image = _outer(sky, slice_illumination(layout, det))
    if scene is not None and covers_field(scene):
        return image + stars_on_ccd(scene, layout, det.ifu, exp.exptime_s,
                                    det.slice_efficiency)
    star = 60.0 if exp.tag == "OBJECT" else 3000.0 * exp.exptime_s / 60.0
    wave = row_wavelengths(layout)
    trace = star * (wave / 7000.0) ** -1.0
    middle = N_SLICE // 2
    for j, weight in ((middle - 1, 0.3), (middle, 1.0), (middle + 1, 0.3)):
        cols = slice_columns(layout, j)
        image[:, cols] += (weight * trace).astype(np.float32)[:, None]
    return image


def signal_image(exp: Exposure, layout: CcdLayout, det: IfuDetector, faults: Faults,
                 first_mode: str, scene: CubeModel | None = None) -> np.ndarray | None:
    """Electrons on the trimmed CCD of ``det`` during ``exp``; ``None`` for a bias.
    ``scene``: the OB's sources, for a science exposure (see :mod:`.slicer`)."""
    shape = layout.trimmed_shape
    if exp.tag == "BIAS":
        return None
    if exp.tag == "DARK":
        image = np.full(shape, det.dark_e_per_h * exp.exptime_s / 3600.0, np.float32)
        for row, col, rate in det.hot_pixels:
            image[row, col] += rate * exp.exptime_s / 3600.0
        return image
    if exp.tag == "FLAT":
        return _flat(exp, layout, det, faults, first_mode)
    if exp.tag == "ARC":
        lamp = arclamps.lamp_of_exposure(exp.tag, exp.expno)
        return _outer(arclamps.LINE_ELECTRONS * arclamps.lines_on_rows(shape[0], lamp),
                      slice_illumination(layout, det))
    if exp.tag == "SKYFLAT":
        level = 8000.0 * spectra.twilight_continuum(row_wavelengths(layout))
        return _outer(level, slice_illumination(layout, det))
    return _sky_and_source(exp, layout, det, scene)
