"""The QA viewer: a Flask app over the catalogue, for QC scientists and consortium members.

``create_app(settings)`` builds it; ``qcservice.viewer.server`` serves it (``musedc viewer
serve``). Nothing touches the database at import time.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, g, render_template
from sqlalchemy import Engine

from qcservice.config import DEFAULT_VO_URL, Settings
from qcservice.viewer.auth import here
from qcservice.vocabulary import IFUS, INS_MODES, N_IFU, QA_STATES


def create_app(settings: Settings, engine: Engine | None = None,
               config: dict[str, Any] | None = None) -> Flask:
    """The viewer app for ``settings`` (or an existing ``engine``), ``config`` overriding.

    Its configuration comes from ``settings.viewer`` (where the VO services are, the
    DataLink template of a product, ...) and the VO authority of publisher DIDs.
    """
    from qcservice.viewer import (
        auth,
        calib,
        cube_page,
        db,
        files,
        http_errors,
        pages,
        plotdata,
        summary,
        validate,
    )

    app = Flask(__name__)
    app.config.update(
        VO_URL=settings.viewer.vo_url or DEFAULT_VO_URL,
        PUBLIC_URL=settings.viewer.public_url or None,
        DATALINK_TEMPLATE=settings.viewer.datalink, VO_AUTHORITY=settings.vo.authority,
        ARCHIVE_MAX_BYTES=settings.viewer.archive_max_bytes or None,
        FILES_BY_PROXY=settings.viewer.files_by_proxy,
        SESSION_HOURS=12, DEFAULT_PROJECT=settings.project,
        MAX_CONTENT_LENGTH=64 * 1024, TEMPLATES_AUTO_RELOAD=False)
    app.config.update(config or {})
    db.init_app(app, engine if engine is not None else _viewer_engine(settings))
    app.before_request(auth.load_session)
    app.before_request(auth.guard)
    http_errors.init_app(app)
    for module in (auth, summary, files, plotdata, calib, cube_page, validate, pages):
        app.register_blueprint(module.bp)
    from qcservice.viewer import download_page, heatmap, review, storage_page, trends

    for module in (review, trends, heatmap, download_page, storage_page):
        app.register_blueprint(module.bp)
    app.jinja_env.globals.update(csrf_token=auth.csrf_token, modes=INS_MODES, ifus=IFUS,
                                 n_ifu=N_IFU, qa_states=QA_STATES, projects=pages.projects)
    app.context_processor(lambda: {"current": _current()})
    app.after_request(_security_headers)
    for code in (400, 403, 404):
        app.register_error_handler(code, _error_page)
    for name in ("summary.html", "detail.html", "qa.html"):   # compiled now, not by the
        app.jinja_env.get_template(name)                        # first reader
    return app


def _viewer_engine(settings: Settings) -> Engine:
    """An engine with a pool sized for a threaded web server (make_engine also starts the
    embedded cluster and migrates it when needed)."""
    from sqlalchemy import create_engine

    from qcservice.db import make_engine

    checked = make_engine(settings)
    url = checked.url
    checked.dispose()
    return create_engine(url, pool_size=10, max_overflow=30, pool_timeout=60,
                         pool_pre_ping=True, connect_args={"application_name": "musedc-viewer"})


def _current() -> dict:
    sess = g.get("sess") or {}
    return {"user": g.get("user"), "project": sess.get("project"),
            "mode": sess.get("ins_mode"), "path": here()}


def _security_headers(resp: Response) -> Response:
    resp.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; frame-ancestors 'none'")
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("Referrer-Policy", "same-origin")
    if resp.mimetype == "text/html":
        resp.headers.setdefault("Cache-Control", "no-store")
    return resp


def _error_page(exc) -> tuple[str, int]:
    return render_template("error.html", error=exc), exc.code
