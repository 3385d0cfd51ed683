"""SODA cut-outs of the real MUSE cube, through the running DaCHS, against astropy slicing
of the original file (hypothesis): every kind of limit, at channel edges, a hair inside
and outside them; pixels and the WCS (CRPIX/CRVAL of the three axes) must agree, and a
request that includes no pixel answers 204 No Content (SODA 1.0), whatever its kind."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import requests
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytestmark = pytest.mark.slow

EPS = 1e-6          # pixel: a limit this close to an edge is on it (the service's rule)
TOL = 0.01          # pixel: spatial bounding boxes computed two ways agree to this
ARCSEC = 1 / 3600
HEALTH = [HealthCheck.function_scoped_fixture]


@pytest.fixture(scope="module")
def cube(vo_service):
    with fits.open(vo_service.minicube) as hdus:
        header = hdus[1].header.copy()
        data = hdus[1].data.copy()
    return header, data


def _cut(vo_service, **params: str) -> requests.Response:
    params["ID"] = vo_service.pubdid(vo_service.public)
    return requests.get(f"{vo_service.url}/muse/q/dl/dlget", params=params, timeout=60)


def _wave_m(header, pix: float) -> float:
    """Wavelength in metres of the 1-based spectral pixel coordinate ``pix``."""
    return (header["CRVAL3"] + (pix - header["CRPIX3"]) * header["CD3_3"]) * 1e-10


def _planes(lo: float, hi: float, n: int) -> tuple[int, int] | None:
    """0-based first/last plane whose channel [k+0.5, k+1.5] (1-based centre k+1)
    overlaps the pixel interval [lo, hi] by more than EPS; independent of the service."""
    inside = [k for k in range(n) if min(hi, k + 1.5) - max(lo, k + 0.5) > EPS
              or (lo == hi and k + 0.5 + EPS < lo < k + 1.5 - EPS)]
    return (inside[0], inside[-1]) if inside else None


def _check(resp, header, data, window) -> None:
    """The answer is the window (z, y, x 0-based inclusive) of the original, pixels and
    WCS, or 204 when ``window`` is None."""
    if window is None:
        assert resp.status_code == 204, (resp.status_code, resp.text[:300])
        assert resp.content == b""
        return
    assert resp.status_code == 200, resp.text[:500]
    (z0, z1), (y0, y1), (x0, x1) = window
    with fits.open(io.BytesIO(resp.content)) as cut:
        assert len(cut) == 2
        np.testing.assert_array_equal(cut[1].data, data[z0:z1 + 1, y0:y1 + 1, x0:x1 + 1])
        got = WCS(cut[1].header)
    want = WCS(header)[z0:z1 + 1, y0:y1 + 1, x0:x1 + 1]
    np.testing.assert_allclose(got.wcs.crpix, want.wcs.crpix, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(got.wcs.crval, want.wcs.crval)


# --------------------------------------------------------------------------- BAND
def _limit(kind: str, k: int, frac: float) -> float:
    """A 1-based pixel coordinate near channel k (0-based): its lower edge, a hair
    inside or outside that edge, or inside the channel."""
    edge = k + 0.5
    return {"edge": edge, "hair_in": edge + 1e-3, "hair_out": edge - 1e-3,
            "inside": edge + 0.5 + frac}[kind]


kinds = st.sampled_from(["edge", "hair_in", "hair_out", "inside"])


@settings(max_examples=30, deadline=None, suppress_health_check=HEALTH)
@given(k=st.integers(-3, 3683), width=st.integers(-2, 30), lo_kind=kinds, hi_kind=kinds,
       frac=st.floats(-0.49, 0.49))
def test_band_planes_and_wcs_equal_astropy(vo_service, cube, k, width, lo_kind, hi_kind, frac):
    header, data = cube
    lo, hi = _limit(lo_kind, k, frac), _limit(hi_kind, k + width, -frac)
    resp = _cut(vo_service, BAND=f"{_wave_m(header, lo)!r} {_wave_m(header, hi)!r}")
    planes = _planes(lo, hi, header["NAXIS3"]) if lo <= hi else None
    window = None if planes is None else (planes, (0, 39), (0, 39))
    _check(resp, header, data, window)


# ------------------------------------------------------------------------ spatial
def _bbox_window(header, pix_x, pix_y):
    """Expected 0-based (y, x) window of a region whose pixel bounding box is given,
    checked by the caller with tolerance; None when it misses the field."""
    out = []
    for values, n in ((pix_y, header["NAXIS2"]), (pix_x, header["NAXIS1"])):
        lo, hi = min(values), max(values)
        first, last = max(math.floor(lo - 0.5) + 1, 1), min(math.ceil(hi + 0.5) - 1, n)
        if first > last:
            return None
        out.append((first - 1, last - 1))
    return out


def _near_edge(values) -> bool:
    """An extreme of the bounding box this close to a pixel edge is ambiguous between
    two samplings of the same boundary: skip such examples."""
    return any(abs((v - 0.5) - round(v - 0.5)) < TOL for v in (min(values), max(values)))


def _sky_pixels(header, coords: SkyCoord):
    x, y = WCS(header).celestial.world_to_pixel(coords)
    return np.asarray(x) + 1, np.asarray(y) + 1          # 1-based


centres = st.tuples(st.floats(-12, 12), st.floats(-12, 12))      # arcsec from the centre
BAND_FEW = (5, 9)      # 0-based planes of FEW_BAND: a few, so that answers stay small


def _few_band(header) -> str:
    """BAND from 1-based pixel 6.2 to 10.2: planes 6..10 (1-based), i.e. BAND_FEW."""
    return f"{_wave_m(header, 6.2)!r} {_wave_m(header, 10.2)!r}"


@settings(max_examples=25, deadline=None, suppress_health_check=HEALTH)
@given(centre=centres, radius=st.floats(0.05, 6.0), as_pos=st.booleans())
def test_circle_window_and_wcs_equal_astropy(vo_service, cube, centre, radius, as_pos):
    header, data = cube
    ra0, dec0 = header["CRVAL1"], header["CRVAL2"]
    c = SkyCoord(ra0 * u.deg, dec0 * u.deg).spherical_offsets_by(
        centre[0] * u.arcsec, centre[1] * u.arcsec)
    ring = c.directional_offset_by(np.linspace(0, 360, 3600, endpoint=False) * u.deg,
                                   radius * u.arcsec)
    x, y = _sky_pixels(header, ring)
    if _near_edge(x) or _near_edge(y):
        return
    circle = f"{float(c.ra.deg)!r} {float(c.dec.deg)!r} {radius * ARCSEC!r}"
    band = _few_band(header)
    params = {"POS": f"CIRCLE {circle}"} if as_pos else {"CIRCLE": circle}
    resp = _cut(vo_service, BAND=band, **params)
    yx = _bbox_window(header, x, y)
    _check(resp, header, data, None if yx is None else ((BAND_FEW[0], BAND_FEW[1]), *yx))


@settings(max_examples=20, deadline=None, suppress_health_check=HEALTH)
@given(centre=centres, radii=st.lists(st.floats(0.3, 5.0), min_size=3, max_size=6),
       turn=st.floats(0, 360), as_pos=st.booleans())
def test_polygon_window_and_wcs_equal_astropy(vo_service, cube, centre, radii, turn, as_pos):
    header, data = cube
    ra0, dec0 = header["CRVAL1"], header["CRVAL2"]
    c = SkyCoord(ra0 * u.deg, dec0 * u.deg).spherical_offsets_by(
        centre[0] * u.arcsec, centre[1] * u.arcsec)
    angles = turn + np.arange(len(radii)) * 360 / len(radii)     # convex enough, CCW
    corners = c.directional_offset_by(angles * u.deg, np.array(radii) * u.arcsec)
    x, y = _sky_pixels(header, corners)
    if _near_edge(x) or _near_edge(y):
        return
    flat = " ".join(f"{float(a)!r} {float(d)!r}" for a, d in zip(corners.ra.deg, corners.dec.deg,
                                                    strict=True))
    band = _few_band(header)
    params = {"POS": f"POLYGON {flat}"} if as_pos else {"POLYGON": flat}
    resp = _cut(vo_service, BAND=band, **params)
    yx = _bbox_window(header, x, y)
    _check(resp, header, data, None if yx is None else ((BAND_FEW[0], BAND_FEW[1]), *yx))


@pytest.mark.parametrize("params", [
    {"BAND": "1e-6 2e-6"},                        # redder than the cube
    {"BAND": "3e-7 4.7e-7"},                      # bluer
    {"BAND": "6.1e-7 6e-7"},                      # empty interval
    {"CIRCLE": "{ra} {far} 0.0003"},
    {"POLYGON": "{ra} {far} {ra2} {far} {ra2} {far2}"},
    {"POS": "CIRCLE {ra} {far} 0.0003"},
    {"POS": "RANGE {ra} {ra2} {far} {far2}"},
    {"DEC": "{far} {far2}"},
])
def test_requests_without_pixels_answer_204(vo_service, cube, params):
    header, data = cube
    ra, dec = header["CRVAL1"], header["CRVAL2"]
    values = {"ra": ra, "ra2": ra + 0.001, "far": dec + 0.01, "far2": dec + 0.011}
    resp = _cut(vo_service, **{k: v.format(**values) for k, v in params.items()})
    _check(resp, header, data, None)


def test_range_and_ra_dec_intervals(vo_service, cube):
    """POS RANGE and the RA/DEC intervals: the box's bounding box, by the same rule."""
    header, data = cube
    ra0, dec0 = header["CRVAL1"], header["CRVAL2"]
    ra = (ra0 - 2.13 * ARCSEC, ra0 + 1.07 * ARCSEC)
    dec = (dec0 - 1.61 * ARCSEC, dec0 + 2.29 * ARCSEC)
    grid_ra, grid_dec = np.meshgrid(np.linspace(*ra, 64), np.linspace(*dec, 64))
    x, y = _sky_pixels(header, SkyCoord(grid_ra.ravel() * u.deg, grid_dec.ravel() * u.deg))
    assert not (_near_edge(x) or _near_edge(y))
    window = ((BAND_FEW[0], BAND_FEW[1]), *_bbox_window(header, x, y))
    band = _few_band(header)
    _check(_cut(vo_service, BAND=band, POS=f"RANGE {ra[0]} {ra[1]} {dec[0]} {dec[1]}"),
           header, data, window)
    _check(_cut(vo_service, BAND=band, RA=f"{ra[0]} {ra[1]}", DEC=f"{dec[0]} {dec[1]}"),
           header, data, window)
