"""The SODA cut-out arithmetic: request limits to ONE integer pixel window per axis.

Every kind of limit (BAND, CIRCLE, POLYGON, POS, RA/DEC intervals) ends as an interval
in 1-based pixel coordinates of one FITS axis, and every interval becomes a window by the
same rule: pixel ``i`` covers ``[i - 0.5, i + 0.5]``; the window holds every pixel whose
cover overlaps the interval over a positive length. A limit on a pixel edge (to within
``EDGE_EPS`` pixel, so that a limit given at an exact channel edge in metres is not
pushed across it by rounding) takes nothing beyond that edge. The window, the pixels
copied and the header written (``CRPIXn`` shifted by the integer ``first - 1``, ``NAXISn``
the count; ``CRVAL``, ``CD`` untouched) all come from these integers, so pixels and WCS
cannot disagree. A window with no pixel is ``None``: the service answers 204 No Content
(SODA 1.0, "does not include any pixels"), whatever kind of limit caused it.

Pure numpy + astropy (no gavo): the tests run it in the virtual environment too.
"""

import math

import numpy

EDGE_EPS = 1e-6
CIRCLE_POINTS = 720     # boundary points of a circle (bounding-box error < 1e-5 radius)
EDGE_POINTS = 64        # points along each edge of an RA/Dec box (small circles)


def _snap(p):
    """``p`` moved onto the nearest pixel edge when within EDGE_EPS of it."""
    edge = math.floor(p - 0.5) + 0.5
    for candidate in (edge, edge + 1):
        if abs(p - candidate) < EDGE_EPS:
            return candidate
    return p


def pixel_range(lo, hi, naxis):
    """(first, last), 1-based inclusive, of the pixels of an axis of length ``naxis``
    whose cover overlaps the pixel interval [lo, hi]; None when there is none."""
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    lo, hi = sorted((_snap(lo), _snap(hi)))
    first = max(math.floor(lo - 0.5) + 1, 1)
    last = min(math.ceil(hi + 0.5) - 1, naxis)
    return (first, last) if first <= last else None


def intersect(ranges):
    """The common part of (first, last) ranges; None when empty or any is None."""
    if any(r is None for r in ranges):
        return None
    first = max(r[0] for r in ranges)
    last = min(r[1] for r in ranges)
    return (first, last) if first <= last else None


def window(naxes, intervals):
    """Per axis (1-based FITS order) the (first, last) window, or None when empty.

    ``intervals`` maps a FITS axis to pixel intervals [(lo, hi), ...] (all apply);
    axes without intervals are whole.
    """
    out = []
    for axis, length in enumerate(naxes, 1):
        ranges = [pixel_range(lo, hi, length) for lo, hi in intervals.get(axis, ())]
        r = intersect(ranges) if ranges else (1, length)
        if r is None:
            return None
        out.append(r)
    return out


def slices(win):
    """numpy slices (C order: last FITS axis first) of a window."""
    return tuple(slice(first - 1, last) for first, last in reversed(win))


def cut_header(header, win):
    """A copy of ``header`` for the window: NAXISn = count, CRPIXn -= first - 1."""
    out = header.copy()
    for axis, (first, last) in enumerate(win, 1):
        out[f"NAXIS{axis}"] = last - first + 1
        if f"CRPIX{axis}" in out:
            out[f"CRPIX{axis}"] = out[f"CRPIX{axis}"] - (first - 1)
    return out


def _unit(ra, dec):
    ra, dec = numpy.radians(ra), numpy.radians(dec)
    return numpy.stack([numpy.cos(dec) * numpy.cos(ra), numpy.cos(dec) * numpy.sin(ra),
                        numpy.sin(dec)], axis=-1)


def circle_points(ra, dec, radius, n=CIRCLE_POINTS):
    """(ra, dec) degrees of ``n`` points on the small circle of ``radius`` degrees."""
    centre = _unit(ra, dec)
    # two unit vectors perpendicular to the centre: east and north
    east = numpy.array([-math.sin(math.radians(ra)), math.cos(math.radians(ra)), 0.0])
    north = numpy.cross(centre, east)
    phi = numpy.linspace(0, 2 * math.pi, n, endpoint=False)
    r = math.radians(radius)
    v = (math.cos(r) * centre[None, :]
         + math.sin(r) * (numpy.cos(phi)[:, None] * east + numpy.sin(phi)[:, None] * north))
    return numpy.column_stack([numpy.degrees(numpy.arctan2(v[:, 1], v[:, 0])) % 360,
                               numpy.degrees(numpy.arcsin(numpy.clip(v[:, 2], -1, 1)))])


def box_points(ra_lo, ra_hi, dec_lo, dec_hi, n=EDGE_POINTS):
    """Points along the boundary of an RA/Dec box (its Dec edges are small circles)."""
    ras = numpy.linspace(ra_lo, ra_hi, n)
    decs = numpy.linspace(dec_lo, dec_hi, n)
    return numpy.concatenate([
        numpy.column_stack([ras, numpy.full(n, dec_lo)]),
        numpy.column_stack([ras, numpy.full(n, dec_hi)]),
        numpy.column_stack([numpy.full(n, ra_lo), decs]),
        numpy.column_stack([numpy.full(n, ra_hi), decs])])


def sky_intervals(points, celestial, axes):
    """{fits axis: (lo, hi)} pixel intervals of the bounding box of sky ``points``.

    ``celestial`` is the astropy WCS of the two sky axes, ``axes`` their FITS axis
    numbers in that order; ``points`` are (ra, dec) in degrees. A gnomonic (TAN)
    projection maps great circles to straight lines, so for a polygon its vertices
    suffice; circles and boxes come as dense boundary points. A region reaching beyond
    the tangent plane's hemisphere (points that do not project) limits nothing.
    """
    world = numpy.asarray(points, float)
    if celestial.wcs.lng != 0:
        world = world[:, ::-1]
    px = numpy.asarray(celestial.all_world2pix(world, 1))
    if not numpy.all(numpy.isfinite(px)):
        return {}
    return {axes[0]: (float(px[:, 0].min()), float(px[:, 0].max())),
            axes[1]: (float(px[:, 1].min()), float(px[:, 1].max()))}
