"""The arc lamps of MUSE's calibration unit: which lamp makes which injected line.

The injected lines are :data:`spectra.ARC_LINES` (real HgCd, Ne and Xe lines, air
wavelengths); here each gets its ion, so that the raw arcs say which lamps were on
(``ESO INS LAMPi NAME/ST`` and ``SHUTi ST``: muse_wavecal 2.8.7 counts a lamp only
when its shutter is open too, and reads ``CU-LAMP-<lamp>`` names)
and the LINE_CATALOG static calibration lists exactly the lines the simulator puts on
the CCD.
"""

from __future__ import annotations

import numpy as np

from qcservice.simulate import spectra
from qcservice.simulate.cards import CardSpec
from qcservice.simulate.spectra import ARC_LINES

LAMPS = ("HgCd", "Ne", "Xe")
# Ion of each injected line (NIST): Cd I 4799.91 5085.82 6438.47; Hg I 5460.75 5769.60
# 5790.66; Ne I 5852.49 ... 8654.38; Xe I 7642.02 8231.63 8280.12 8819.41 8952.25 9045.45.
ION = {4799.91: "CdI", 5085.82: "CdI", 5460.75: "HgI", 5769.60: "HgI", 5790.66: "HgI",
       5852.49: "NeI", 6402.25: "NeI", 6438.47: "CdI", 6506.53: "NeI", 6929.47: "NeI",
       7032.41: "NeI", 7245.17: "NeI", 7642.02: "XeI", 8231.63: "XeI", 8280.12: "XeI",
       8377.61: "NeI", 8495.36: "NeI", 8654.38: "NeI", 8819.41: "XeI", 8952.25: "XeI",
       9045.45: "XeI"}
LINE_QUALITY = 5   # bright, isolated: used for pattern matching and for the fit
# Electrons per CCD column of a line of relative flux 1 in one 60 s arc. The catalogue's
# fluxes are in these units: muse_wavecal drops lines fainter than a threshold it
# derives from the data (~1e4 here), so relative fluxes of ~1 would leave no line.
LINE_ELECTRONS = 30000.0


def lamp_of(ion: str) -> str:
    """The lamp that emits ``ion`` (Hg and Cd share one lamp)."""
    return "HgCd" if ion[:2] in ("Hg", "Cd") else ion[:2]


def lamp_of_exposure(tag: str, expno: int) -> str | None:
    """The lamp of an arc exposure: as at the telescope, one lamp per exposure (the
    pipeline calibrates lamp by lamp and cannot use an arc with several lamps on)."""
    return LAMPS[(expno - 1) % len(LAMPS)] if tag == "ARC" else None


def lines_on_rows(n_rows: int, lamp: str) -> np.ndarray:
    """Relative flux per CCD row of the lines of one lamp."""
    edges = spectra.ccd_row_edges(n_rows)
    total = np.zeros(n_rows)
    for center, weight in ARC_LINES:
        if lamp_of(ION[center]) == lamp:
            total += weight * spectra.gaussian_in_bins(edges, center, spectra.LSF_SIGMA_A)
    return total


def lamp_cards(tag: str, expno: int) -> list[CardSpec]:
    """``ESO INS LAMP``/``SHUT`` cards of a raw frame: an arc's one lamp is on."""
    lit = lamp_of_exposure(tag, expno)
    cards: list[CardSpec] = [("ESO INS LAMPNUM", len(LAMPS), "Number of lamps")]
    for i, lamp in enumerate(LAMPS, start=1):   # a lamp counts when its shutter is open
        on = lamp == lit
        cards += [(f"ESO INS LAMP{i} NAME", f"CU-LAMP-{lamp}", "Name of lamp"),
                  (f"ESO INS LAMP{i} ST", on, "Lamp activated"),
                  (f"ESO INS SHUT{i} NAME", f"CU-SHUT{i}", "Name of shutter"),
                  (f"ESO INS SHUT{i} ST", on, "Shutter open")]
    return cards


def line_catalog_rows() -> list[tuple[float, float, str, int]]:
    """(lambda A, flux in electrons per column, ion, quality) of every injected line."""
    return [(wave, LINE_ELECTRONS * flux, ION[wave], LINE_QUALITY) for wave, flux in ARC_LINES]
