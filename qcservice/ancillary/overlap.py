"""Which ancillary data overlap a MUSE product (the viewer's product page, the CLI).

A product's footprint is computed from the celestial WCS of its catalogued headers
(``qc.hdus``: the DATA extension first), the same WCS the VO services publish as
``s_region``; pgSphere's ``&&`` then finds the ancillary polygons that overlap it.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from qcservice.ancillary.footprint import (
    Corners,
    FootprintError,
    header_from_mapping,
    spoly_literal,
    wcs_footprint,
)

_HEADERS = """
SELECT header FROM qc.hdus WHERE file_id = :fid
ORDER BY (extname = 'DATA') IS TRUE DESC, hdu_index LIMIT 4"""

_OVERLAPPING = """
SELECT a.anc_id, a.collection, a.filename, a.kind, a.format, a.mime, a.instrument,
       a.facility, a.band, a.n_rows, a.size_bytes, a.checksum, a.ra, a.dec
FROM qc.ancillary a
WHERE a.footprint && CAST(:poly AS spoly)
  AND (CAST(:uid AS integer) IS NULL OR qc.may_see_ancillary(:uid, a.anc_id))
ORDER BY a.collection, a.filename, a.anc_id"""


def product_footprint(conn: Connection, file_id: int) -> Corners | None:
    """The sky footprint of a catalogued file, or None when no header has a usable WCS."""
    for (header,) in conn.execute(text(_HEADERS), {"fid": file_id}):
        if int(header.get("NAXIS", 0) or 0) < 2:
            continue
        try:
            return wcs_footprint(header_from_mapping(header))
        except FootprintError:
            continue
    return None


def overlapping(conn: Connection, corners: Corners, user_id: int | None) -> list[dict]:
    """Ancillary files whose footprint overlaps ``corners``, those ``user_id`` may see
    (None: every one, for the command line of the data centre's operators)."""
    found = conn.execute(text(_OVERLAPPING), {"poly": spoly_literal(corners), "uid": user_id})
    return [dict(r._mapping) for r in found]


def for_product(conn: Connection, file_id: int, user_id: int | None) -> list[dict]:
    """Ancillary files overlapping the product ``file_id`` (none without a footprint)."""
    corners = product_footprint(conn, file_id)
    return [] if corners is None else overlapping(conn, corners, user_id)


def may_see(conn: Connection, user_id: int, anc_id: int) -> bool:
    """May ``user_id`` see the ancillary file ``anc_id``? (False when it does not exist.)"""
    return bool(conn.execute(text("SELECT qc.may_see_ancillary(:u, :a)"),
                             {"u": user_id, "a": anc_id}).scalar())
