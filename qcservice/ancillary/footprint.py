"""Sky footprints as pgSphere polygons: from the celestial WCS of an image or cube, from
the RA/Dec extent of a catalogue, and as the ``spoly`` literal PostgreSQL reads.

Corners are (ra, dec) pairs in degrees, ICRS, in order around the polygon.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from qcservice.errors import MusedcError

Corners = list[tuple[float, float]]

# a catalogue of one source, or of sources on a line, still gets an area
CATALOGUE_PAD_DEG = 1.0 / 3600


class FootprintError(MusedcError, ValueError):
    """No footprint can be derived (no celestial WCS, no coordinates)."""


def header_from_mapping(cards: Mapping[str, object]):
    """An astropy Header of the plain FITS keywords of ``cards`` (e.g. a qc.hdus row)."""
    from astropy.io import fits

    header = fits.Header()
    for key, value in cards.items():
        if len(key) <= 8 and isinstance(value, bool | int | float | str) and key not in (
                "COMMENT", "HISTORY", ""):
            header[key] = value
    return header


def wcs_footprint(header) -> Corners:
    """The four corners of the pixel grid of ``header``'s celestial WCS."""
    from astropy.wcs import WCS, FITSFixedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        try:
            wcs = WCS(header)
        except Exception as exc:  # astropy raises many kinds on broken WCS keywords
            raise FootprintError(f"unusable WCS: {exc}") from exc
    if not wcs.has_celestial:
        raise FootprintError("no celestial WCS (RA/Dec axes) in the header")
    celestial = wcs.celestial
    first, second = sorted((wcs.wcs.lng, wcs.wcs.lat))
    shape = (int(header.get(f"NAXIS{first + 1}", 0)), int(header.get(f"NAXIS{second + 1}", 0)))
    if min(shape) <= 0:
        raise FootprintError("the header gives no image size (NAXISn) for its RA/Dec axes")
    corners = celestial.calc_footprint(axes=shape)
    if celestial.wcs.lng == 1:  # Dec before RA in the header
        corners = corners[:, ::-1]
    if not np.all(np.isfinite(corners)):
        raise FootprintError("the WCS gives no finite sky position for the image corners")
    return _checked([(float(ra) % 360.0, float(dec)) for ra, dec in corners])


def catalogue_footprint(ra: Sequence[float], dec: Sequence[float],
                        pad: float = CATALOGUE_PAD_DEG) -> Corners:
    """The RA/Dec box around the sources (RA taken across 0h when that is shorter)."""
    ras = np.asarray(ra, dtype=float) % 360.0
    decs = np.asarray(dec, dtype=float)
    good = np.isfinite(ras) & np.isfinite(decs)
    if not good.any():
        raise FootprintError("no source has a finite RA and Dec")
    ras, decs = np.sort(ras[good]), decs[good]
    if decs.min() < -90 or decs.max() > 90:
        raise FootprintError("declinations outside [-90, 90]: are the columns in degrees?")
    # the smallest RA interval holding every source starts after the widest gap
    gaps = np.diff(np.concatenate([ras, [ras[0] + 360.0]]))
    start = int(np.argmax(gaps)) + 1
    lo = ras[start % len(ras)]
    width = (ras[start - 1] - lo) % 360.0
    d_lo, d_hi = max(decs.min() - pad, -89.999), min(decs.max() + pad, 89.999)
    cos = max(math.cos(math.radians(max(abs(d_lo), abs(d_hi)))), 1e-6)
    r_pad = pad / cos
    if width + 2 * r_pad >= 180.0:
        raise FootprintError("the sources span more than 180 degrees of RA")
    r_lo, r_hi = float(lo - r_pad) % 360.0, float(lo + width + r_pad) % 360.0
    d_lo, d_hi = float(d_lo), float(d_hi)
    return _checked([(r_lo, d_lo), (r_hi, d_lo), (r_hi, d_hi), (r_lo, d_hi)])


def _checked(corners: Corners) -> Corners:
    if len({(round(r, 9), round(d, 9)) for r, d in corners}) < 3:
        raise FootprintError("the footprint has no area")
    return corners


def centre(corners: Corners) -> tuple[float, float]:
    """The mean direction of the corners (RA, Dec in degrees)."""
    vec = np.zeros(3)
    for ra, dec in corners:
        r, d = math.radians(ra), math.radians(dec)
        vec += (math.cos(d) * math.cos(r), math.cos(d) * math.sin(r), math.sin(d))
    x, y, z = vec / np.linalg.norm(vec)
    return math.degrees(math.atan2(y, x)) % 360.0, math.degrees(math.asin(z))


def spoly_literal(corners: Corners) -> str:
    """The pgSphere text form: ``{(10.1d,-3.2d),(...)}``."""
    return "{" + ",".join(f"({ra:.9f}d,{dec:.9f}d)" for ra, dec in corners) + "}"
