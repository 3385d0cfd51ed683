"""Data behind the interactive plots (JSON) and the QC images, each behind the privilege
rule: a file the user may not see answers 404, and so do its plots and images."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, jsonify, request, send_file

from qcservice.dates import query_date
from qcservice.viewer import file_facts, products
from qcservice.viewer.access import require_file, scope
from qcservice.viewer.args import ifu_arg
from qcservice.viewer.db import row, rows

bp = Blueprint("plotdata", __name__)

_TREND = """
WITH same AS (
    SELECT r.file_id, r.night, r.ins_mode FROM qc.raw_frames r
    WHERE r.dpr_type = :type AND :kind = 'raw'
    UNION ALL
    SELECT p.file_id, p.night, p.ins_mode FROM qc.products p
    WHERE p.pro_catg = :type AND :kind = 'product'
)
SELECT s.night, coalesce(s.ins_mode, '-') AS ins_mode, s.file_id,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY m.value) AS value
FROM same s JOIN qc.metrics m USING (file_id) JOIN qc.files f USING (file_id)
WHERE m.name = :metric AND m.value IS NOT NULL AND f.project_id = :project_id
  AND qc.may_see(:uid, s.file_id)
  AND (CAST(:ifu AS integer) IS NULL OR m.ifu = :ifu)
  AND (CAST(:mode AS text) IS NULL OR s.ins_mode = :mode)
  AND (CAST(:start AS date) IS NULL OR s.night >= :start)
  AND (CAST(:end AS date) IS NULL OR s.night <= :end)
GROUP BY s.file_id, s.night, s.ins_mode ORDER BY s.night, s.file_id"""

_THRESHOLDS = """
SELECT ins_mode, ifu, flag, nominal, warn_low, warn_high, error_low, error_high, unit,
       valid_from
FROM qc.thresholds WHERE metric = :metric AND (ifu IS NULL OR ifu = CAST(:ifu AS integer))
ORDER BY valid_from"""


@bp.route("/api/file/<int:file_id>/ifu-metrics")
def ifu_metrics(file_id: int) -> Response:
    """Per metric, the median of each of the 24 IFUs: the grid values and the IFU plot."""
    require_file(file_id)
    return jsonify(file_facts.ifu_metrics(file_id))


@bp.route("/api/file/<int:file_id>/trend")
def trend(file_id: int) -> Response:
    """A metric over nights for files like this one, one series per mode, with thresholds."""
    require_file(file_id)
    rec = file_facts.file_record(file_id)
    metric = request.args.get("metric", "")
    ifu = ifu_arg(request.args)
    series: dict[str, dict] = {}
    for r in rows(_TREND, kind=rec["kind"], type=rec["dpr_type"] or rec["pro_catg"],
                  metric=metric, ifu=ifu, start=query_date(request.args.get("start")),
                  end=query_date(request.args.get("end")), **scope()):
        s = series.setdefault(r["ins_mode"], {"x": [], "y": [], "file_id": []})
        s["x"].append(r["night"].isoformat())
        s["y"].append(r["value"])
        s["file_id"].append(r["file_id"])
    limits = [{**t, "valid_from": t["valid_from"].isoformat()}
              for t in rows(_THRESHOLDS, metric=metric, ifu=ifu)]
    return jsonify({"metric": metric, "ifu": ifu, "series": series, "thresholds": limits})


@bp.route("/file/<int:file_id>/image.png")
def product_image(file_id: int) -> Response:
    """The picture of an IMAGE_FOV product (made from the file on demand)."""
    require_file(file_id)
    rec = file_facts.file_record(file_id)
    return _png(products.image_png(rec["path"]) if rec["pro_catg"] == "IMAGE_FOV" else None)


def _png(png: bytes | None) -> Response:
    """A PNG made from a file the user may see (private: proprietary data), or 404."""
    if png is None:
        abort(404)
    return Response(png, mimetype="image/png", headers={"Cache-Control": "private, max-age=3600"})


@bp.route("/file/<int:file_id>/preview.png")
def raw_preview(file_id: int) -> Response:
    """A raw frame's 24 IFUs (science and standard-star frames, which QC does not check
    and so gives no preview), made from the file on demand."""
    require_file(file_id)
    rec = file_facts.file_record(file_id)
    return _png(products.raw_preview_png(rec["path"]) if rec["kind"] == "raw" else None)


@bp.route("/image/<int:image_id>")
def image(image_id: int) -> Response:
    """A QC image or plot file, if the user may see the file it belongs to."""
    found = row("SELECT file_id, path, mime FROM qc.qc_images WHERE image_id = :i", i=image_id)
    if found is None:
        abort(404)
    require_file(found["file_id"])
    path = Path(found["path"])
    if not path.is_file():
        abort(404, "the image file is gone from disk")
    return send_file(path, mimetype=found["mime"], max_age=3600)
