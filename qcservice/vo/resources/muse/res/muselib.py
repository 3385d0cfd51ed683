"""DaCHS-side helpers of the MUSE RD (runs under Debian's python3 with python3-gavo).

Only the standard library, astropy/numpy from Debian and gavo are used here. The RD loads
this module with ``api.loadPythonModule``. What it holds:

- ``iter_stage``: read a JSON-lines staging file written by ``musedc vo publish``;
- ``require_access``: THE guard of every pixel path (SODA, previews, DataLink-served
  files): embargoed products need HTTP basic credentials of a member of the owner group;
- ``MuseCubeDescriptor``: a SODA descriptor for MUSE files, whose pixels are in the
  ``DATA`` extension (1), not in the primary HDU;
- ``open_data`` / ``plan_cutout`` / ``write_cutout``: the guard, the window of the
  request (``cutout.py``: one arithmetic for every kind of limit), its bytes copied
  with positioned reads in bounded chunks;
- ``related_links`` / ``ancillary_links``: DataLink rows for the QA viewer page, raw
  frames, master calibrations, a spectrum's cube, and overlapping ancillary data.
"""

import datetime
import json
import os
import tempfile

from astropy.io import fits
from gavo import api, base, rscdef, svcs, utils
from gavo.protocols import creds, datalink, products, soda
from gavo.utils import fitstools, pgsphere

DATE_FIELDS = ("p_embargo", "night")
TIMESTAMP_FIELDS = ("obs_release_date", "last_mod_date")


def _to_date(value):
    return None if value is None else datetime.date.fromisoformat(value)


def _to_timestamp(value):
    return None if value is None else datetime.datetime.fromisoformat(value)


def iter_stage(path):
    """Rows of a JSON-lines staging file, with dates, timestamps and regions typed."""
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            row = json.loads(line)
            for key in DATE_FIELDS:
                if key in row:
                    row[key] = _to_date(row[key])
            for key in TIMESTAMP_FIELDS:
                if key in row:
                    row[key] = _to_timestamp(row[key])
            corners = row.pop("corners", None)
            if corners is not None:
                row["s_region"] = pgsphere.SPoly(
                    [pgsphere.SPoint.fromDegrees(ra, dec) for ra, dec in corners])
            yield row


def _query_meta():
    try:
        return utils.stealVar("queryMeta")
    except ValueError:
        return {"user": None, "password": None}


def require_access(owner, embargo):
    """Raise 401 (no or bad credentials) or 403 (not a member) for an embargoed product.

    ``embargo`` is the release date (None or past: public); ``owner`` the DaCHS group
    that may see it before. The same rule DaCHS applies to /getproduct.
    """
    if embargo is None or embargo < datetime.date.today():
        return
    qm = _query_meta()
    user, password = qm["user"], qm["password"]
    if not user:
        raise svcs.Authenticate()
    groups = creds.getGroupsForUser(user, password)
    if not groups:
        raise svcs.Authenticate()
    if owner not in groups:
        raise svcs.ForbiddenURI(f"This product is proprietary until {embargo}.")


SODA_FREE_ARGS = {"ID", "RESPONSEFORMAT"}


def guard_soda_request(descriptor, args):
    """A SODA request (any parameter beyond ID) for an embargoed product is refused
    before DaCHS checks its parameters: 401/403, not a 422 for a BAND on an image."""
    if isinstance(descriptor, datalink.DatalinkFault):
        return descriptor
    if {key.upper() for key in args} - SODA_FREE_ARGS:
        require_access(descriptor.owner, descriptor.embargo)
    return descriptor


class MuseCubeDescriptor(datalink.FITSProductDescriptor):
    """A SODA descriptor whose image is the DATA extension of a MUSE product."""

    def __init__(self, *args, **kwargs):
        kwargs.pop("qnd", None)
        datalink.ProductDescriptor.__init__(self, *args, **kwargs)
        path = self.localPath()
        with fits.open(path, memmap=True, lazy_load_hdus=True) as hdus:
            names = [h.name for h in hdus]
            self.imageExtind = names.index("DATA") if "DATA" in names else 0
            # what write_cutout needs, read once: headers as on disk, where the pixels start
            self.dataExtind = self.imageExtind
            self.file_hdr = hdus[self.imageExtind].header.copy()
            self.primary_hdr = hdus[0].header.copy()
            self.data_start = hdus.fileinfo(self.imageExtind)["datLoc"]
        self.hdr = self.file_hdr.copy()
        # DaCHS's 1-D axis transforms read CDELTn only: MUSE writes a CD matrix
        for axis in (3,):
            cd = f"CD{axis}_{axis}"
            if cd in self.hdr and f"CDELT{axis}" not in self.hdr:
                self.hdr[f"CDELT{axis}"] = self.hdr[cd]
        self.slices = []
        self.dataIsPristine = True
        self._axesTouched = set()

    def localPath(self):
        return os.path.join(base.getConfig("inputsDir"), self.accessPath)


def make_descriptor(pubDID, cls=MuseCubeDescriptor):
    """The descriptor of a standard pubDID of this site, or a DatalinkFault."""
    try:
        accref = rscdef.getAccrefFromStandardPubDID(pubDID)
    except ValueError:
        return datalink.DatalinkFault.NotFoundFault(pubDID, "Not a pubDID of this site.")
    try:
        descriptor = cls.fromAccref(pubDID, accref)
    except base.NotFoundError:
        return datalink.DatalinkFault.NotFoundFault(pubDID, "No such product here.")
    # every product's preview is the guarded service; a #preview link only with a PNG
    if not rows_for(accref, "SELECT path FROM muse.previews WHERE accref=%(a)s"):
        descriptor.preview = None
    return descriptor


_cutout, _ = api.loadPythonModule("cutout", relativeTo=__file__)


def open_data(descriptor):
    """Guard every pixel path first: embargoed products need a member's credentials.

    No pixel is read here (DaCHS wants *some* data: the file, until a cut is planned).
    """
    require_access(descriptor.owner, descriptor.embargo)
    descriptor.data = descriptor.localPath()


def _limit_intervals(descriptor, args):
    """{fits axis: [(lo, hi), ...]} pixel intervals of every limit of the request."""
    out = {}

    def add(intervals):
        for axis, interval in intervals.items():
            out.setdefault(axis, []).append(interval)

    band = args.get("BAND")
    if band is not None and getattr(descriptor, "specAxis", None) is not None:
        lo, hi = band
        if lo > hi:          # an empty interval includes no pixel
            raise soda.EmptyData()
        axis = descriptor.specAxis
        add({descriptor.specAxisIndex: tuple(
            axis.physToPix(descriptor.meterToSpec(v)) for v in (lo, hi))})
    soda.ensureSkyWCS(descriptor)
    sky, axes = descriptor.skyWCS, descriptor.spatialAxes
    if sky is None:
        return out
    regions = []
    if args.get("CIRCLE") is not None:
        c = args["CIRCLE"]
        regions.append(_cutout.circle_points(c.center.x / utils.DEG, c.center.y / utils.DEG,
                                             c.radius / utils.DEG))
    if args.get("POLYGON") is not None:
        regions.append([(p.x / utils.DEG, p.y / utils.DEG) for p in args["POLYGON"].points])
    ra, dec = args.get("RA"), args.get("DEC")
    if ra is not None or dec is not None:
        if (ra is not None and ra[0] > ra[1]) or (dec is not None and dec[0] > dec[1]):
            raise soda.EmptyData()
        foot = sky.calcFootprint(descriptor.hdr)
        ra = ra if ra is not None else (foot[:, 0].min(), foot[:, 0].max())
        dec = dec if dec is not None else (foot[:, 1].min(), foot[:, 1].max())
        regions.append(_cutout.box_points(ra[0], ra[1], dec[0], dec[1]))
    for points in regions:
        add(_cutout.sky_intervals(points, sky, axes))
    return out


def plan_cutout(descriptor, args):
    """The window of the request (204 when it holds no pixel) and its header."""
    hdr = descriptor.file_hdr
    naxes = [hdr[f"NAXIS{i}"] for i in range(1, hdr["NAXIS"] + 1)]
    intervals = _limit_intervals(descriptor, args)
    if not intervals:
        return
    win = _cutout.window(naxes, intervals)
    if win is None:
        raise soda.EmptyData()
    descriptor.window = _cutout.slices(win)
    descriptor.cut_hdr = _cutout.cut_header(hdr, win)
    descriptor.dataIsPristine = False     # a cut-out request gets the cut-out format


CHUNK_BYTES = 8 * 2 ** 20


def _blocks(shape, window, itemsize):
    """(byte offset, rows, first byte, last byte) of each read the window needs.

    ``shape`` and ``window`` are in numpy order (planes, rows, columns). Rows of one
    plane are read together up to CHUNK_BYTES, so memory stays bounded by it whatever
    the size of the cube or of the cut-out.
    """
    _, ny, nx = shape
    zs, ys, xs = (range(*s.indices(n)) for s, n in zip(window, shape, strict=True))
    row_bytes = nx * itemsize
    group = max(1, CHUNK_BYTES // row_bytes)
    for z in zs:
        for y0 in range(ys.start, ys.stop, group):
            rows = min(group, ys.stop - y0)
            yield ((z * ny + y0) * row_bytes, rows, xs.start * itemsize, xs.stop * itemsize)


def write_cutout(descriptor):
    """Write primary header + the cut-out DATA to a temporary file; return its path.

    The bytes are copied as they are on disk (big-endian, BZERO/BSCALE untouched) with
    positioned reads, never a memory map, so the server's memory does not grow with
    the cut-out.
    """
    import numpy

    disk_header = descriptor.file_hdr
    shape = tuple(disk_header[f"NAXIS{i}"] for i in range(disk_header["NAXIS"], 0, -1))
    window = descriptor.window
    header = descriptor.cut_hdr
    if len(shape) == 2:
        shape, window = (1, *shape), (slice(None), *window)
    itemsize = abs(disk_header["BITPIX"]) // 8
    handle, name = tempfile.mkstemp(suffix=".fits", dir=base.getConfig("tempDir"))
    written = 0
    with open(descriptor.localPath(), "rb") as src, os.fdopen(handle, "wb") as out:
        if descriptor.dataExtind:
            out.write(descriptor.primary_hdr.tostring().encode("ascii"))
        out.write(header.tostring().encode("ascii"))
        for offset, rows, first, last in _blocks(shape, window, itemsize):
            raw = os.pread(src.fileno(), rows * shape[2] * itemsize,
                           descriptor.data_start + offset)
            block = numpy.frombuffer(raw, dtype=numpy.uint8).reshape(rows, -1)
            chunk = block[:, first:last]
            out.write(chunk.tobytes())
            written += chunk.size
        out.write(b"\0" * (-written % 2880))
    return name


class PlainDescriptor(datalink.ProductDescriptor):
    """A descriptor that does not read the file (for previews)."""

    def __init__(self, *args, **kwargs):
        kwargs.pop("qnd", None)
        datalink.ProductDescriptor.__init__(self, *args, **kwargs)


def product_path(descriptor):
    """The file of a product (its products-table path, relative to inputsDir or absolute)."""
    return os.path.join(base.getConfig("inputsDir"), descriptor.accessPath)


def preview_path(accref):
    """The PNG preview of ``accref``; 404 when there is none."""
    rows = rows_for(accref, "SELECT path FROM muse.previews WHERE accref=%(a)s")
    if not rows or not os.path.exists(rows[0][0]):
        raise svcs.UnknownURI(f"No preview for {accref}")
    return rows[0][0]


def band_meta(descriptor, MS, InputKey, Values):
    """The SODA BAND parameter (metres) for cubes; nothing for images."""
    hdr = descriptor.hdr
    if hdr.get("NAXIS", 0) < 3:
        return
    unit = hdr.get("CUNIT3", "Angstrom") or "Angstrom"
    descriptor.specToMeter = base.getSpecConverter(unit, "m")
    descriptor.meterToSpec = base.getSpecConverter("m", unit)
    descriptor.specAxis = fitstools.WCSAxis.fromHeader(hdr, 3, forceSeparable=True)
    descriptor.specAxisIndex = 3
    # the outer edges of the first and last channel: what a cut-out can cover
    edges = (0.5, hdr["NAXIS3"] + 0.5)
    limits = [descriptor.specToMeter(descriptor.specAxis.pixToPhys(p)) for p in edges]
    yield MS(InputKey, name="BAND", unit="m", type="double precision[2]",
             xtype="interval", ucd="em.wl",
             description="Wavelength limits (the cube's spectral axis); every plane"
                         " whose channel overlaps them is cut out",
             multiplicity="forced-single",
             values=MS(Values, min=min(limits), max=max(limits)))


def site_config():
    """Settings musedc vo publish leaves for the RD (viewer URL, ...)."""
    path = os.path.join(base.getConfig("inputsDir"), "muse", "stage", "site.json")
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError:
        return {}


def rows_for(accref, query):
    """The rows of ``query`` (a DaCHS-side SQL with ``%(a)s``) for a product's accref."""
    with base.getTableConn() as conn:
        return list(conn.query(query, {"a": accref}))


def related_links(descriptor, LinkDef):
    """#auxiliary (QA viewer page), #progenitor (raw frames; the cube of a spectrum) and
    #calibration (master calibrations) links."""
    if not isinstance(descriptor, datalink.ProductDescriptor):
        return
    viewer = site_config().get("viewer_url")
    file_id = descriptor.accref.split("/")[1]
    if viewer:
        yield LinkDef(descriptor.pubDID, f"{viewer.rstrip('/')}/product/{file_id}",
                      semantics="#auxiliary", contentType="text/html",
                      description="Quality-control page of this product in the QA viewer")
    rows = rows_for(descriptor.accref,
                    "SELECT i.accref, p.role, i.catg, i.filename, i.accsize"
                    " FROM muse.provenance AS p JOIN muse.inputs AS i"
                    " ON i.file_id = p.input_file_id"
                    " WHERE p.product_accref = %(a)s ORDER BY p.role, i.filename")
    cubes = rows_for(descriptor.accref,
                     "SELECT c.accref, c.accsize FROM muse.spectra AS s JOIN muse.cubes AS c"
                     " ON c.accref = s.cube_accref WHERE s.accref = %(a)s")
    for accref, size in cubes:
        yield LinkDef(descriptor.pubDID, products.makeProductLink(accref),
                      semantics="#progenitor", contentType="image/fits", contentLength=size,
                      description="The MUSE cube this spectrum was extracted from")
    for accref, role, catg, name, size in rows:
        kind = "Raw frame" if role == "raw" else "Master calibration"
        yield LinkDef(descriptor.pubDID, products.makeProductLink(accref),
                      semantics="#progenitor" if role == "raw" else "#calibration",
                      contentType="image/fits", contentLength=size,
                      description=f"{kind} {name} ({catg})")


def ancillary_links(descriptor, LinkDef):
    """#counterpart links to the ancillary data (muse.ancillary: images, cubes and
    catalogues of other instruments) whose footprint overlaps the product's s_region.
    The files are served by /getproduct, which guards embargoed ones."""
    if not isinstance(descriptor, datalink.ProductDescriptor):
        return
    query = ("SELECT a.accref, a.filename, a.collection, a.kind, a.instrument_name,"
             " a.band, a.mime, a.accsize"
             " FROM muse.cubes AS c JOIN muse.ancillary AS a ON a.s_region && c.s_region"
             " WHERE c.accref = %(a)s ORDER BY a.collection, a.filename, a.anc_id")
    rows = rows_for(descriptor.accref, query)
    for accref, name, collection, kind, instrument, band, mime, size in rows:
        what = " ".join(w for w in (instrument, band, kind) if w)
        yield LinkDef(descriptor.pubDID, products.makeProductLink(accref),
                      semantics="#counterpart", contentType=mime, contentLength=size,
                      description=f"Ancillary {what} {name} ({collection}) overlapping "
                                  f"this product")
