"""DaCHS-side helpers of the MUSE RD (runs under Debian's python3 with python3-gavo).

Only the standard library, astropy/numpy from Debian and gavo are used here. The RD loads
this module with ``api.loadPythonModule``. What it holds:

- ``iter_stage``: read a JSON-lines staging file written by ``musedc vo publish``;
- ``require_access``: THE guard of every pixel path (SODA, previews, DataLink-served
  files): embargoed products need HTTP basic credentials of a member of the owner group;
- ``MuseCubeDescriptor``: a SODA descriptor for MUSE files, whose pixels are in the
  ``DATA`` extension (1), not in the primary HDU;
- ``open_data`` / ``write_result``: memory-mapped input, only the cut-out slice copied.
"""

import datetime
import json
import os
import tempfile

from astropy.io import fits
from gavo import base, rscdef, svcs, utils
from gavo.protocols import creds, datalink, products
from gavo.utils import fitstools, pgsphere

DATE_FIELDS = ("p_embargo", "night")
TIMESTAMP_FIELDS = ("obs_release_date",)


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


def products_row(accref):
    """The DaCHS products-table row of ``accref`` (raises NotFoundError)."""
    return products.RAccref(accref).productsRow


class MuseCubeDescriptor(datalink.FITSProductDescriptor):
    """A SODA descriptor whose image is the DATA extension of a MUSE product."""

    def __init__(self, *args, **kwargs):
        kwargs.pop("qnd", None)
        datalink.ProductDescriptor.__init__(self, *args, **kwargs)
        path = self.localPath()
        with fits.open(path, memmap=True, lazy_load_hdus=True) as hdus:
            names = [h.name for h in hdus]
            self.imageExtind = names.index("DATA") if "DATA" in names else 0
            self.hdr = hdus[self.imageExtind].header.copy()
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
        return cls.fromAccref(pubDID, accref)
    except base.NotFoundError:
        return datalink.DatalinkFault.NotFoundFault(pubDID, "No such product here.")


def open_data(descriptor):
    """Guard, then give the descriptor a memory-mapped HDUList: primary + DATA only."""
    require_access(descriptor.owner, descriptor.embargo)
    hdus = fits.open(descriptor.localPath(), memmap=True, do_not_scale_image_data=True)
    descriptor.toClose = [hdus]
    data_hdu = hdus[descriptor.imageExtind]
    descriptor.data = fits.HDUList([fits.PrimaryHDU(header=hdus[0].header), data_hdu])
    descriptor.imageExtind = 1
    descriptor.dataIsPristine = True


def write_result(descriptor):
    """Write the cut-out HDUs to a temporary file and close the inputs; return its path."""
    handle, name = tempfile.mkstemp(suffix=".fits", dir=base.getConfig("tempDir"))
    os.close(handle)
    descriptor.data.writeto(name, overwrite=True, output_verify="silentfix")
    for closable in getattr(descriptor, "toClose", []):
        closable.close()
    return name


def file_link(descriptor, accref, semantics, description, mime, size):
    """A DataLink row to a product of the products table (served by /getproduct)."""
    url = products.makeProductLink(accref)
    return datalink.LinkDef(descriptor.pubDID, url, contentType=mime,
                            contentLength=size, semantics=semantics,
                            description=description)


class PlainDescriptor(datalink.ProductDescriptor):
    """A descriptor that does not read the file (for previews)."""

    def __init__(self, *args, **kwargs):
        kwargs.pop("qnd", None)
        datalink.ProductDescriptor.__init__(self, *args, **kwargs)


def preview_path(accref):
    """The PNG preview of ``accref``; 404 when there is none."""
    with base.getTableConn() as conn:
        rows = list(conn.query("SELECT path FROM muse.previews WHERE accref=%(a)s",
                               {"a": accref}))
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
    limits = [descriptor.specToMeter(v) for v in descriptor.specAxis.getLimits()]
    yield MS(InputKey, name="BAND", unit="m", type="double precision[2]",
             xtype="interval", ucd="em.wl", description="Vacuum wavelength limits",
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


def related_links(descriptor, LinkDef):
    """#auxiliary (QA viewer page), #progenitor (raw) and #calibration links."""
    if not isinstance(descriptor, datalink.ProductDescriptor):
        return
    viewer = site_config().get("viewer_url")
    file_id = descriptor.accref.split("/")[1]
    if viewer:
        yield LinkDef(descriptor.pubDID, f"{viewer.rstrip('/')}/product/{file_id}",
                      semantics="#auxiliary", contentType="text/html",
                      description="Quality-control page of this product in the QA viewer")
    query = ("SELECT i.accref, p.role, i.catg, i.filename, i.accsize"
             " FROM muse.provenance AS p JOIN muse.inputs AS i"
             " ON i.file_id = p.input_file_id"
             " WHERE p.product_accref = %(a)s ORDER BY p.role, i.filename")
    with base.getTableConn() as conn:
        rows = list(conn.query(query, {"a": descriptor.accref}))
    for accref, role, catg, name, size in rows:
        kind = "Raw frame" if role == "raw" else "Master calibration"
        yield LinkDef(descriptor.pubDID, products.makeProductLink(accref),
                      semantics="#progenitor" if role == "raw" else "#calibration",
                      contentType="image/fits", contentLength=size,
                      description=f"{kind} {name} ({catg})")
