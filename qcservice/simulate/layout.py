"""Geometry of a MUSE CCD readout and the three simulation scales.

A MUSE raw CHAN extension holds one 4k CCD read through four outputs (quadrants). Each
quadrant's readout is one quarter of the extension: its prescan along the outer edges
of the chip, its data, then its overscan next to the chip centre::

    x: [prescan | data Q1/Q4 | overscan][overscan | data Q2/Q3 | prescan]
    y: [prescan | data Q1/Q2 | overscan][overscan | data Q4/Q3 | prescan]

Quadrant 1 is read at the bottom-left corner, 2 bottom-right, 3 top-right, 4 top-left
(``ESO DET OUTn X/Y``). Arrays here are numpy (row = y, column = x, 0-based); FITS
keywords are 1-based. The real chip is 2 x 2048 by 2 x 2056 data pixels with 32-pixel
pre- and overscans (4224 x 4240 per CHAN). The smaller scales keep the same layout.

``ESO DET OUTn X/Y`` always name the physical output corners of the real 4096 x 4112
chip (1 or 4096, 1 or 4112), whatever the scale: the MUSE pipeline (muse_bias 2.8.7)
recognises the quadrants from these values and refuses any others.
"""

from __future__ import annotations

from dataclasses import dataclass

QUADRANTS = (1, 2, 3, 4)
# Physical output corners of the real chip, as the pipeline expects them.
_OUT_CORNER = {1: (1, 1), 2: (4096, 1), 3: (4096, 4112), 4: (1, 4112)}


@dataclass(frozen=True)
class CcdLayout:
    """One CHAN: quadrant data size ``nx`` x ``ny`` and pre-/overscan widths (pixels)."""

    nx: int
    ny: int
    prscx: int
    prscy: int
    ovscx: int
    ovscy: int

    @property
    def chan_nx(self) -> int:
        """NAXIS1 of a raw CHAN extension."""
        return 2 * (self.prscx + self.nx + self.ovscx)

    @property
    def chan_ny(self) -> int:
        """NAXIS2 of a raw CHAN extension."""
        return 2 * (self.prscy + self.ny + self.ovscy)

    @property
    def trimmed_shape(self) -> tuple[int, int]:
        """(rows, columns) of a trimmed image (masters): the four data areas joined."""
        return 2 * self.ny, 2 * self.nx

    def readout_block(self, quadrant: int) -> tuple[slice, slice]:
        """The quarter of the raw CHAN read by ``quadrant``: data, prescan and overscan."""
        h, w = self.chan_ny // 2, self.chan_nx // 2
        rows = slice(0, h) if quadrant in (1, 2) else slice(h, 2 * h)
        cols = slice(0, w) if quadrant in (1, 4) else slice(w, 2 * w)
        return rows, cols

    def data_window(self, quadrant: int) -> tuple[slice, slice]:
        """Raw CHAN rows and columns of the quadrant's light-sensitive pixels."""
        h, w = self.chan_ny // 2, self.chan_nx // 2
        y0 = self.prscy if quadrant in (1, 2) else h + self.ovscy
        x0 = self.prscx if quadrant in (1, 4) else w + self.ovscx
        return slice(y0, y0 + self.ny), slice(x0, x0 + self.nx)

    def overscan_window(self, quadrant: int) -> tuple[slice, slice]:
        """Raw CHAN rows and columns of the vertical overscan strip beside the data."""
        rows, _ = self.data_window(quadrant)
        w = self.chan_nx // 2
        x0 = self.prscx + self.nx if quadrant in (1, 4) else w
        return rows, slice(x0, x0 + self.ovscx)

    def trimmed_window(self, quadrant: int) -> tuple[slice, slice]:
        """Rows and columns of the quadrant in a trimmed image."""
        rows = slice(0, self.ny) if quadrant in (1, 2) else slice(self.ny, 2 * self.ny)
        cols = slice(0, self.nx) if quadrant in (1, 4) else slice(self.nx, 2 * self.nx)
        return rows, cols

    def out_cards(self, quadrant: int, gain: float, ron_e: float) -> list[tuple]:
        """The ``ESO DET OUTn`` cards of one quadrant (gain in e-/ADU, RON in e-)."""
        n = quadrant
        x, y = _OUT_CORNER[quadrant]
        return [
            (f"ESO DET OUT{n} ID", "EFGH"[n - 1], "Output ID as from manufacturer"),
            (f"ESO DET OUT{n} INDEX", n, "Output index"),
            (f"ESO DET OUT{n} NAME", f"NO{n}", "Description of output"),
            (f"ESO DET OUT{n} NX", self.nx, "Valid pixels along X"),
            (f"ESO DET OUT{n} NY", self.ny, "Valid pixels along Y"),
            (f"ESO DET OUT{n} X", x, "X location of output"),
            (f"ESO DET OUT{n} Y", y, "Y location of output"),
            (f"ESO DET OUT{n} PRSCX", self.prscx, "Prescan region in X"),
            (f"ESO DET OUT{n} PRSCY", self.prscy, "Prescan region in Y"),
            (f"ESO DET OUT{n} OVSCX", self.ovscx, "Overscan region in X"),
            (f"ESO DET OUT{n} OVSCY", self.ovscy, "Overscan region in Y"),
            (f"ESO DET OUT{n} GAIN", round(gain, 4), "[e-/ADU] Conversion factor"),
            (f"ESO DET OUT{n} RON", round(ron_e, 4), "[e-] Readout noise per output"),
        ]

    def as_dict(self) -> dict[str, int]:
        """The layout for truth.json."""
        return {"nx": self.nx, "ny": self.ny, "prscx": self.prscx, "prscy": self.prscy,
                "ovscx": self.ovscx, "ovscy": self.ovscy, "chan_nx": self.chan_nx,
                "chan_ny": self.chan_ny}


# The slices on the real 4096-column CCD: 48 slices 76 columns wide, 8-column gaps,
# 36 unlit columns at each CCD edge (muse_flat 2.8.7 traces slices only when they are
# ~72-82 pixels wide and cannot fit the edges of a slice that touches the CCD border).
_REAL_COLUMNS = 4096
SLICE_MARGIN, SLICE_WIDTH, SLICE_GAP = 36, 76, 8


def slice_columns(layout: CcdLayout, slice_no: int) -> slice:
    """Columns of a trimmed image lit by ``slice_no`` (1..48), gaps excluded.

    The real CCD's geometry (:data:`SLICE_WIDTH` etc.) shrunk to the layout's width; at
    tiny scale a slice is two or three columns wide, and only layouts with the full
    4096 columns are traceable by the pipeline.
    """
    f = 2 * layout.nx / _REAL_COLUMNS
    x0 = f * (SLICE_MARGIN + (slice_no - 1) * (SLICE_WIDTH + SLICE_GAP))
    start = round(x0)
    stop = max(start + 1, round(x0 + f * SLICE_WIDTH))
    return slice(start, stop)


def slice_qc_rows(layout: CcdLayout) -> slice:
    """Rows 'around the vertical centre' used for ``QC FLAT MASTER SLICEj`` (10 %, >= 4)."""
    rows = 2 * layout.ny
    half = max(2, round(0.05 * rows))
    return slice(rows // 2 - half, rows // 2 + half)


@dataclass(frozen=True)
class Scale:
    """How big a simulated night is: CCD layout, frame counts, cube size, sources."""

    name: str
    layout: CcdLayout
    n_bias: int
    n_dark: int
    n_flat: int
    n_ob_per_mode: int
    n_exp_per_ob: int
    cube_nx: int
    cube_ny: int
    n_stars: int
    n_galaxies: int
    n_emitters: int
    cube_block: int  # wavelength planes computed at once when writing cubes


SCALES: dict[str, Scale] = {
    "tiny": Scale("tiny", CcdLayout(64, 72, 16, 16, 16, 16), n_bias=5, n_dark=3, n_flat=3,
                  n_ob_per_mode=2, n_exp_per_ob=2, cube_nx=24, cube_ny=24, n_stars=2,
                  n_galaxies=1, n_emitters=1, cube_block=3681),
    "small": Scale("small", CcdLayout(128, 136, 32, 32, 32, 32), n_bias=5, n_dark=3,
                   n_flat=3, n_ob_per_mode=2, n_exp_per_ob=2, cube_nx=48, cube_ny=48,
                   n_stars=4, n_galaxies=3, n_emitters=3, cube_block=1024),
    "full": Scale("full", CcdLayout(2048, 2056, 32, 32, 32, 32), n_bias=5, n_dark=3,
                  n_flat=3, n_ob_per_mode=2, n_exp_per_ob=3, cube_nx=320, cube_ny=320,
                  n_stars=10, n_galaxies=8, n_emitters=8, cube_block=128),
}
