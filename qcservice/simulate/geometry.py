"""Where each slice of each IFU lies on the sky: the simulator's field of view.

MUSE's 1 x 1 arcmin field is cut by the field splitter into 24 horizontal strips, one
per IFU, and each strip by the image slicer into 48 slices of 15 x 0.2 arcsec, in four
stacks of 12 side by side. The slices' order on the CCD is not their order on the sky:
the CCD-to-sky numbering is the instrument's (``mpdaf.MUSE.Slicer.ccd2sky``). Sky slice
``s`` lies in stack ``(s - 1) // 12`` (left to right) at row ``(s - 1) % 12`` (top to
bottom) of its IFU's strip; IFU 1 is the top strip.

Positions are in spaxels of 0.2 arcsec relative to the field centre, as the pipeline's
GEOMETRY_TABLE gives them (``x`` and ``y`` of the slice centre, its ``width`` along x,
its ``angle``). muse_scibasic places a CCD pixel of a slice at ``x + (f - 0.5) * width``
where ``f`` is its fractional position across the traced slice, and at the slice's
``y``: so sky column ``f`` of a slice is CCD column ``left + f * (right - left)``.
"""

from __future__ import annotations

from functools import cache

from qcservice.vocabulary import N_IFU, N_SLICE

SPAXEL_ARCSEC = 0.2
SLICES_PER_STACK = 12
SLICE_SKY_WIDTH = 75.0  # spaxels: 15 arcsec
STACK_PITCH = 75.0  # spaxels between the centres of adjacent stacks (no gap)
SLICE_PITCH = 1.0  # spaxels between adjacent rows of one stack: 0.2 arcsec
IFU_PITCH = 12.5  # spaxels between IFU strips (12 rows and a half-row gap)


@cache
def sky_slice(ccd_slice: int) -> int:
    """Sky number (1..48) of the slice ``ccd_slice`` (1..48, left to right on the CCD)."""
    if not 1 <= ccd_slice <= N_SLICE:
        raise ValueError(f"slice {ccd_slice} is not in 1..{N_SLICE}")
    # imported here: mpdaf pulls in matplotlib, scipy.signal and specutils (4 s), which
    # every importer of the simulator (the CLI, the test collection) would pay otherwise
    from mpdaf.MUSE import Slicer

    return int(Slicer.ccd2sky(ccd_slice))


def slice_centre(ifu: int, sky: int) -> tuple[float, float]:
    """(x, y) in spaxels of the centre of sky slice ``sky`` of ``ifu``, from the field
    centre, as GEOMETRY_TABLE gives them (y upwards; the pipeline's cube runs x the
    other way, see :mod:`.slicer`)."""
    if not 1 <= ifu <= N_IFU:
        raise ValueError(f"IFU {ifu} is not in 1..{N_IFU}")
    stack, row = divmod(sky - 1, SLICES_PER_STACK)
    x = (stack - 1.5) * STACK_PITCH
    y = ((N_IFU + 1) / 2 - ifu) * IFU_PITCH + ((SLICES_PER_STACK - 1) / 2 - row) * SLICE_PITCH
    return x, y


def geometry_rows(ifus: range | list[int] = range(1, N_IFU + 1)) -> list[dict]:
    """One GEOMETRY_TABLE row per IFU and CCD slice (perfect: errors 0, angle 0)."""
    rows = []
    for ifu in ifus:
        for ccd in range(1, N_SLICE + 1):
            sky = sky_slice(ccd)
            x, y = slice_centre(ifu, sky)
            rows.append({"SubField": ifu, "SliceCCD": ccd, "SliceSky": sky, "x": x,
                         "xerr": 0.0, "y": y, "yerr": 0.0, "angle": 0.0, "angleerr": 0.0,
                         "width": SLICE_SKY_WIDTH, "widtherr": 0.0})
    return rows
