"""Lists of a night's frames per category, and the page of one frame or product."""

from __future__ import annotations

from urllib.parse import quote

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    url_for,
)

from qcservice.dates import query_date
from qcservice.viewer import evidence, file_facts, products
from qcservice.viewer.access import require_file, scope
from qcservice.viewer.categories import BY_KEY, MASTERS
from qcservice.viewer.db import rows

bp = Blueprint("files", __name__)

_RAW_LIST = f"""
SELECT f.file_id, f.filename, r.date_obs, r.object, r.ins_mode, r.exptime,
       r.dpr_type AS type, NULL::smallint AS ifu, q.state,
       qc.viewer_validity(f.file_id, 'raw', q.state) AS validity,
       coalesce(q.flags, '{{}}') AS qa_flags, st.*
FROM qc.raw_frames r JOIN qc.files f USING (file_id)
LEFT JOIN qc.qa q USING (file_id) {file_facts.IFU_SUMMARY}
WHERE r.night = :night AND qc.viewer_raw_category(r.dpr_catg, r.dpr_type) = :cat
  AND f.project_id = :project_id AND qc.may_see(:uid, f.file_id)
  AND (CAST(:mode AS text) IS NULL OR r.ins_mode = :mode)
ORDER BY r.date_obs, f.filename"""

_PRODUCT_LIST = f"""
SELECT f.file_id, f.filename, p.date_obs, p.object, p.ins_mode, p.exptime,
       p.pro_catg AS type, p.ifu, q.state,
       qc.viewer_validity(f.file_id, 'product', q.state) AS validity,
       coalesce(q.flags, '{{}}') AS qa_flags, st.*
FROM qc.products p JOIN qc.files f USING (file_id)
LEFT JOIN qc.qa q USING (file_id) {file_facts.IFU_SUMMARY}
WHERE p.night = :night AND qc.viewer_product_category(p.pro_catg) = :cat
  AND f.project_id = :project_id AND qc.may_see(:uid, f.file_id)
  AND (CAST(:mode AS text) IS NULL OR p.ins_mode = :mode)
ORDER BY p.date_obs, p.ifu NULLS FIRST, f.filename"""


@bp.route("/night/<night>/<cat>")
def night_list(night: str, cat: str) -> str:
    """The frames or products of one night and category."""
    category = BY_KEY.get(cat)
    day = query_date(night)
    if day is None:
        abort(404)
    if category is None:
        abort(404)
    sql = _RAW_LIST if category.key.endswith("_raw") else _PRODUCT_LIST
    items = rows(sql, night=day, cat=cat, **scope())
    return render_template("night_list.html", night=day, category=category, items=items,
                           master_catg=MASTERS.get(cat))


@bp.route("/file/<int:file_id>")
def detail(file_id: int) -> str:
    """Observation, processing, the 24-IFU grids, metrics, trends, validation, audit."""
    require_file(file_id)
    rec = file_facts.file_record(file_id)
    if rec["pro_catg"] == "DATACUBE_FINAL":
        return redirect(url_for("cube.cube", file_id=file_id))
    cells = file_facts.ifu_grid(file_id)
    read = evidence.inputs(file_id)
    found = evidence.evidence(file_id, read)
    return render_template(
        "detail.html", rec=rec, cells=cells, counts=file_facts.grid_counts(cells),
        metrics=file_facts.ifu_metrics(file_id), file_metrics=file_facts.file_metrics(file_id),
        provenance=file_facts.provenance(file_id), audit=file_facts.audit(file_id),
        images=file_facts.images(file_id), datalink=datalink_url(rec), user=g.user,
        recipe_runs=file_facts.recipe_runs(file_id),
        evidence=found, why=evidence.by_ifu(found), opens_on=evidence.first_metric(found),
        limits=evidence.limits_at(file_id, read),
        spectrum=products.spectrum(rec["path"]) if rec["pro_catg"] == "SPECTRUM_1D" else None)


@bp.app_template_filter("limits_text")
def limits_text(e: dict) -> str:
    """The limits of an evidence row, in words (templates)."""
    return evidence.limits_text(e)


@bp.route("/product/<int:file_id>")
def product(file_id: int) -> Response:
    """The address the VO services' DataLink gives for a product's QC page."""
    return redirect(url_for("files.detail", file_id=file_id))


def datalink_url(rec: dict) -> str | None:
    """The DataLink of a product in the VO services, or None for raw frames."""
    if rec["kind"] != "product":
        return None
    from qcservice.vo.stage import accref, standard_pub_did

    template = current_app.config["DATALINK_TEMPLATE"]
    did = standard_pub_did(current_app.config["VO_AUTHORITY"],
                           accref(rec["file_id"], rec["filename"]))
    return template.format(vo=current_app.config["VO_URL"], file_id=rec["file_id"],
                           filename=rec["filename"], pubdid=quote(did, safe=""))
