"""The front server's gate for DaCHS's ``/getproduct``: the application decides, the
proxy sends the bytes.

DaCHS streams files through twisted at ~27 MB/s; a front server (Caddy's ``file_server``)
sends them at disk speed. So in production the proxy first asks this gate (Caddy
``forward_auth``, the original URI in ``X-Forwarded-Uri``, the client's credentials
passed on) and sends the file itself only when the gate answers 200 with the file's path
in ``X-Musedc-File``. The decision is the application's own rule, ``qc.may_see`` (and
``qc.may_see_ancillary``), from which ``musedc vo publish`` derives DaCHS's access groups:
anonymous clients get 401, users without the right 403, as from DaCHS. Only what DaCHS
itself serves is served (the product must be in DaCHS's ``dc.products``, at the path it
has there); anything else (``?preview=True``, unknown references) is left to DaCHS: 200
without the header.

    gunicorn --bind 0.0.0.0:8001 'qcservice.gate:production_app()'
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit

from flask import Flask, Response, request
from sqlalchemy import Connection, Engine, text
from werkzeug.datastructures import Authorization
from werkzeug.middleware.proxy_fix import ProxyFix

from qcservice.config import Settings, load_settings
from qcservice.users import User, authenticate

PATH_HEADER = "X-Musedc-File"
MIME_HEADER = "X-Musedc-Mime"
_PREFIX = "/getproduct/"
# accrefs made by qcservice.vo.stage.accref and qcservice.vo.ancillary.ancillary_accref
_MUSE = re.compile(r"muse/(\d+)/[^/]+")
_ANCILLARY = re.compile(r"muse/anc/(\d+)/[^/]+")
_CHALLENGE = {"WWW-Authenticate": 'Basic realm="MUSE GTO data centre"'}


def create_gate(engine: Engine, proxies: int = 0) -> Flask:
    """The gate app over ``engine`` (the database of qc and DaCHS's dc schema);
    ``proxies`` reverse proxies are trusted for the client's address (throttling)."""
    app = Flask(__name__)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies)  # type: ignore[method-assign]

    @app.route("/gate/getproduct")
    def getproduct() -> Response:
        return decide(engine, request.headers.get("X-Forwarded-Uri", ""),
                      request.authorization, request.remote_addr or "unknown")

    @app.route("/gate/health")
    def health() -> Response:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return Response("ok\n", mimetype="text/plain")

    return app


def _to_dachs() -> Response:
    return Response(status=200)  # no PATH_HEADER: the proxy hands the request to DaCHS


def _login(conn: Connection, creds: Authorization, address: str) -> tuple[User | None, int]:
    """The user the credentials name, throttled like every login path (sql/040): a
    throttled attempt is not checked; a wrong password is counted. Returns (user, wait)."""
    args = {"u": creds.username, "a": address}
    wait = conn.execute(text("SELECT qc.login_wait(:u, :a)"), args).scalar_one()
    if wait:
        return None, wait
    user = authenticate(conn, creds.username, creds.password or "")
    if user is None:
        wait = conn.execute(text("SELECT qc.login_failed(:u, :a, 'gate')"), args).scalar_one()
        conn.commit()
    return user, wait


def decide(engine: Engine, uri: str, creds: Authorization | None,
           address: str = "unknown") -> Response:
    """The gate's answer for the original request URI, its basic credentials and the
    client's address."""
    parts = urlsplit(uri)
    if parts.query or not parts.path.startswith(_PREFIX):
        return _to_dachs()
    ref = unquote(parts.path[len(_PREFIX):])
    muse, anc = _MUSE.fullmatch(ref), _ANCILLARY.fullmatch(ref)
    if not (muse or anc):
        return _to_dachs()
    with engine.connect() as conn:
        product = conn.execute(text(
            "SELECT accesspath AS path, mime FROM dc.products WHERE accref = :r"),
            {"r": ref}).first()
        if product is None or not product.path.startswith("/"):
            return _to_dachs()
        user = None   # wrong credentials count as none, as in DaCHS: public stays public
        if creds is not None and creds.username:
            user, wait = _login(conn, creds, address)
            if wait:
                return Response(f"Too many failed logins: try again in {wait} s.\n", 429,
                                {"Retry-After": str(wait)}, mimetype="text/plain")
        check = ("SELECT qc.may_see_ancillary(:u, :i)" if anc
                 else "SELECT qc.may_see(:u, :i)")
        ident = int((anc or muse).group(1))
        allowed = conn.execute(text(check), {"u": user.user_id if user else None,
                                             "i": ident}).scalar()
    if allowed:
        return Response(status=200, headers={PATH_HEADER: quote(product.path),
                                             MIME_HEADER: product.mime or
                                             "application/octet-stream"})
    if user is None:
        return Response("proprietary: credentials needed\n", 401, _CHALLENGE)
    return Response("not a member of the owner group\n", 403)


def production_app(settings: Settings | None = None) -> Flask:
    """The gate for gunicorn, from the MUSEDC_* settings (a pooled engine)."""
    from sqlalchemy import create_engine

    from qcservice.db import make_engine

    settings = settings or load_settings()
    checked = make_engine(settings)
    url = checked.url
    checked.dispose()
    proxies = settings.vo.proxies
    return create_gate(create_engine(url, pool_size=5, max_overflow=20, pool_pre_ping=True,
                                     connect_args={"application_name": "musedc-gate"}),
                       proxies)
