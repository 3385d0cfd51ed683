"""Downloads from the viewer: choose nights and kinds of files, or products, then get a
curl script (any size; it holds no password) or a streamed tar archive (small
selections, capped at ``ARCHIVE_MAX_BYTES``). The files themselves are served at
``/files/<id>/<name>`` to the logged-in browser or, for the script, to HTTP basic
credentials. Every file goes through ``qc.may_see``; a hidden one answers 404.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, g, render_template, request, send_file

from qcservice.ancillary.overlap import for_product
from qcservice.ancillary.overlap import may_see as may_see_ancillary
from qcservice.dates import query_date
from qcservice.delivery.archive import ArchiveError, Member, archive_size, check_files, stream_tar
from qcservice.delivery.items import Item, relative_paths
from qcservice.delivery.script import ScriptFile, file_url, make_script
from qcservice.storage import human
from qcservice.viewer.access import require_file, scope
from qcservice.viewer.auth import public_url
from qcservice.viewer.byproxy import by_proxy
from qcservice.viewer.db import get_conn, row, rows
from qcservice.vocabulary import FINAL_CATEGORIES

bp = Blueprint("downloads", __name__)

ARCHIVE_MAX_BYTES = 2 * 10**9
LIST_LIMIT = 5000
GROUPS = {
    "final": ("final products (cubes, images, spectra)", "p.pro_catg = ANY(:final)"),
    "calib": ("master calibrations and other products",
              "p.file_id IS NOT NULL AND NOT p.pro_catg = ANY(:final)"),
    "raw_science": ("raw science frames", "r.dpr_catg = 'SCIENCE'"),
    "raw_calib": ("raw calibration frames", "r.file_id IS NOT NULL AND r.dpr_catg <> 'SCIENCE'"),
}

_FILES = """
SELECT f.file_id, f.filename, f.path, f.size_bytes, f.checksum, f.release_date,
       COALESCE(r.night, p.night) AS night, COALESCE(p.pro_catg, r.dpr_type, r.dpr_catg) AS type,
       COALESCE(r.object, p.object) AS object, COALESCE(r.ins_mode, p.ins_mode) AS ins_mode,
       p.ifu
FROM qc.files f LEFT JOIN qc.raw_frames r USING (file_id) LEFT JOIN qc.products p USING (file_id)
WHERE qc.may_see(:uid, f.file_id) AND {where}
ORDER BY night, f.filename, f.file_id LIMIT :limit"""

_BY_NIGHTS = """f.project_id = :project_id
  AND (CAST(:mode AS text) IS NULL OR COALESCE(r.ins_mode, p.ins_mode) = :mode)
  AND COALESCE(r.night, p.night) BETWEEN :start AND :end AND ({groups})"""


def _latest_night() -> dt.date:
    found = row("SELECT greatest((SELECT max(night) FROM qc.raw_frames), "
                "(SELECT max(night) FROM qc.products)) AS night")  # two index lookups
    return (found and found["night"]) or dt.date.today()


def archive_cap() -> int:
    """Largest archive streamed: ARCHIVE_MAX_BYTES of the app (MUSEDC_ARCHIVE_MAX_BYTES),
    else 2 GB."""
    return int(current_app.config.get("ARCHIVE_MAX_BYTES") or ARCHIVE_MAX_BYTES)


def selected_files(ids: list[int]) -> list[dict]:
    """The files ``ids`` (404 unless the user may see every one of them)."""
    wanted = sorted(set(ids))
    if not wanted:
        abort(400, "no file selected")
    found = rows(_FILES.format(where="f.file_id = ANY(:ids)"), uid=g.user.user_id,
                 ids=wanted, limit=len(wanted))
    if len(found) != len(wanted):
        abort(404)
    return found


@bp.route("/downloads")
def choose() -> str:
    """Nights, kinds of files (or products given by ``file_id``), and what they hold."""
    sc = scope()
    ids = request.args.getlist("file_id", type=int)
    groups = [k for k in request.args.getlist("group") if k in GROUPS] or ["final"]
    start = query_date(request.args.get("start"))
    end = query_date(request.args.get("end"))
    if ids:
        items = selected_files(ids)
    else:
        end = end or start or _latest_night()
        start = start or end
        where = _BY_NIGHTS.format(groups=" OR ".join(GROUPS[k][1] for k in groups))
        items = rows(_FILES.format(where=where), **sc, start=start, end=end,
                     final=list(FINAL_CATEGORIES), limit=LIST_LIMIT + 1)
    total = sum(i["size_bytes"] for i in items[:LIST_LIMIT])
    return render_template(
        "downloads.html", items=items[:LIST_LIMIT], truncated=len(items) > LIST_LIMIT,
        start=start, end=end, groups=GROUPS, chosen=groups, total=total, human=human,
        archive_max=archive_cap())


def _posted_files() -> list[dict]:
    ids = []
    for value in request.form.getlist("file_id"):
        if not value.isdigit():
            abort(400, "file ids are numbers")
        ids.append(int(value))
    return selected_files(ids)


def _paths(files: list[dict]) -> list[str]:
    return relative_paths([Item(str(f["file_id"]), f"/{f['file_id']}/{f['filename']}",
                                f["filename"], f["size_bytes"], f["checksum"]) for f in files])


@bp.post("/downloads/script")
def script() -> Response:
    """A bash + curl script fetching the selected files from this viewer."""
    files = _posted_files()
    base = public_url()
    name = f"musedc-download-{dt.date.today():%Y%m%d}.sh"
    listed = [ScriptFile(rel, file_url(base, f["file_id"], f["filename"]), f["size_bytes"],
                         f["checksum"]) for f, rel in zip(files, _paths(files), strict=True)]
    body = make_script(listed, base, g.user.username, name)
    return Response(body, mimetype="text/x-shellscript",
                    headers={"Content-Disposition": f"attachment; filename={name}"})


@bp.post("/downloads/archive")
def archive() -> Response:
    """The selected files as one tar archive, streamed (refused above the size cap)."""
    files = _posted_files()
    cap = archive_cap()
    members = [Member(rel, f["path"], f["size_bytes"], f["checksum"])
               for f, rel in zip(files, _paths(files), strict=True)]
    when = time.time()
    size = archive_size(members, when)
    if size > cap:
        abort(413, f"the selection makes {human(size)}, more than the {human(cap)} an "
                   f"archive may hold: take the download script instead")
    try:
        check_files(members)
    except ArchiveError as exc:
        abort(409, f"cannot archive: {exc}")
    name = f"musedc-{dt.date.today():%Y%m%d}-{len(members)}files.tar"
    return Response(stream_tar(members, when), mimetype="application/x-tar",
                    headers={"Content-Disposition": f"attachment; filename={name}",
                             "Content-Length": str(size)})


def _send(path: str, filename: str, mime: str = "application/octet-stream") -> Response:
    if not Path(path).is_file():
        abort(404, "the file is no longer on disk")
    if current_app.config.get("FILES_BY_PROXY"):
        return by_proxy(path, filename, mime)  # access decided above; the proxy sends it
    return send_file(path, mimetype=mime, as_attachment=True, download_name=filename,
                     conditional=True, max_age=0)


@bp.route("/files/<int:file_id>/<path:filename>")
def file(file_id: int, filename: str) -> Response:
    """One catalogued file (Range requests resume), to whoever may see it."""
    require_file(file_id)
    found = row("SELECT path, filename FROM qc.files WHERE file_id = :f", f=file_id)
    if found is None or found["filename"] != filename:
        abort(404)
    return _send(found["path"], found["filename"], "application/fits")


@bp.route("/ancillary/<int:anc_id>/<path:filename>")
def ancillary_file(anc_id: int, filename: str) -> Response:
    """One ancillary file, to whoever may see it."""
    if not may_see_ancillary(get_conn(), g.user.user_id, anc_id):
        abort(404)
    found = row("SELECT path, filename, mime FROM qc.ancillary WHERE anc_id = :a", a=anc_id)
    if found is None or found["filename"] != filename:
        abort(404)
    return _send(found["path"], found["filename"], found["mime"])


@bp.app_template_global()
def ancillary_for(file_id: int) -> list[dict]:
    """Ancillary data overlapping a product that the user may see (product pages)."""
    return for_product(get_conn(), file_id, g.user.user_id)

