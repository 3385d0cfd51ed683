"""Logging in and out, server-side sessions, CSRF protection and roles.

The browser holds one random token in an HttpOnly cookie; ``qc.viewer_sessions`` keeps
its SHA-256 with the user, the session's CSRF token and the chosen project and mode.
Every page but the login and the static files needs a session. Every POST needs the
session's CSRF token in its ``csrf_token`` field (the login form, before any session
exists, uses a double-submit cookie instead).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import text

from qcservice.config import DEFAULT_VIEWER_URL
from qcservice.users import authenticate, load_user
from qcservice.viewer import throttle
from qcservice.viewer.db import get_conn, row

bp = Blueprint("auth", __name__)

COOKIE = "musedc_session"
LOGIN_COOKIE = "musedc_login_csrf"
_OPEN_ENDPOINTS = {"auth.login", "static", "pages.vendor", "pages.favicon"}
# files a download script fetches with HTTP basic credentials instead of a session
BASIC_AUTH_ENDPOINTS = {"downloads.file", "downloads.ancillary_file"}


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def load_session() -> Response | None:
    """Before each request: find the session of the cookie and its user."""
    g.user = None
    g.sess = None
    if request.endpoint in ("static", "pages.vendor", "pages.favicon"):
        return None
    token = request.cookies.get(COOKIE)
    if not token:
        return _basic_auth()
    found = row("SELECT token_hash, user_id, csrf_token, project, ins_mode "
                "FROM qc.viewer_sessions "
                "WHERE token_hash = :h AND expires_at > now()", h=_digest(token))
    if found is None:
        return _basic_auth()
    user = load_user(get_conn(), found["user_id"])
    if user is not None:
        g.user, g.sess = user, found
    return None


def _basic_auth() -> Response | None:
    """A download script's HTTP basic credentials, on the endpoints that take them
    (throttled like the login form: 429 instead of a password check when guessed at)."""
    creds = request.authorization
    if request.endpoint not in BASIC_AUTH_ENDPOINTS or creds is None or not creds.username:
        return None
    wait = throttle.wait_for(creds.username)
    if wait:
        return throttle.too_many(wait)
    g.user = authenticate(get_conn(), creds.username, creds.password or "")
    if g.user is None:
        wait = throttle.count_failed_login(creds.username, "files")
        if wait:
            return throttle.too_many(wait)
    return None


def guard() -> Response | None:
    """Before each request: anonymous users go to the login, POSTs need a CSRF token."""
    if request.endpoint in _OPEN_ENDPOINTS:
        if request.method == "POST" and request.endpoint == "auth.login":
            _check_token(request.cookies.get(LOGIN_COOKIE))
        return None
    browser = "text/html" in request.headers.get("Accept", "")
    if g.user is None and request.endpoint in BASIC_AUTH_ENDPOINTS and not browser:
        return Response("credentials needed\n", 401,
                        {"WWW-Authenticate": 'Basic realm="MUSE GTO data centre"'})
    if g.user is None:
        return redirect(url_for("auth.login", next=here()))
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        _check_token(g.sess["csrf_token"])
    return None


def _check_token(expected: str | None) -> None:
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(400, "missing or wrong CSRF token: reload the page and try again")


def csrf_token() -> str:
    """The token to put in this page's forms (templates: ``{{ csrf_token() }}``)."""
    if g.get("sess"):
        return g.sess["csrf_token"]
    if "login_csrf" not in g:
        g.login_csrf = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
    return g.login_csrf


def require_validator(view: Callable) -> Callable:
    """Only QC scientists and admins may run ``view``; others get 403."""
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if g.user is None or not g.user.may_validate:
            abort(403, "only QC scientists may validate")
        return view(*args, **kwargs)
    return wrapped


def here() -> str:
    """This request's path and query as a link, with the prefix the viewer is mounted under
    (SCRIPT_NAME, e.g. from a proxy's X-Forwarded-Prefix): what ``next`` fields carry."""
    return request.script_root + request.full_path.rstrip("?")


def public_url() -> str:
    """The viewer's public base URL for anything written for later use (download scripts):
    configuration only (``MUSEDC_VIEWER_URL``, else the address the server listens on,
    else the VO services' default for it), never the request's Host or X-Forwarded-Host,
    which a client may set to its own host to collect the password the script sends."""
    configured = current_app.config.get("PUBLIC_URL") or DEFAULT_VIEWER_URL
    return configured.rstrip("/") + "/"


def safe_next(target: str | None, default: str) -> str:
    """``target`` when it is a path on this site, else ``default``: the one rule for every
    ``next`` (login, project choice, validation forms). Refused, as given and once more
    percent-decoded: anything but a leading ``/``, ``//`` (another host), any backslash
    (browsers read it as ``/``), control characters (browsers drop tabs and newlines, so
    ``/\t/evil`` would become ``//evil``), a scheme or a host."""
    if not target:
        return default
    for form in (target, unquote(target)):
        if (not form.startswith("/") or form.startswith("//") or "\\" in form
                or any(ch < " " or "\x7f" <= ch <= "\x9f" for ch in form)):
            return default
        parts = urlsplit(form)
        if parts.scheme or parts.netloc:
            return default
    return target


def _start_session(user_id: int) -> str:
    token = secrets.token_urlsafe(32)
    conn = get_conn()
    hours = current_app.config["SESSION_HOURS"]
    conn.execute(text("DELETE FROM qc.viewer_sessions WHERE expires_at < now()"))
    conn.execute(text(
        "INSERT INTO qc.viewer_sessions (token_hash, user_id, csrf_token, project, expires_at)"
        " VALUES (:h, :u, :c, :p, now() + make_interval(hours => :hours))"),
        {"h": _digest(token), "u": user_id, "c": secrets.token_urlsafe(24),
         "p": current_app.config["DEFAULT_PROJECT"], "hours": hours})
    conn.commit()
    return token


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str:
    """The login form; on success a new session and a redirect to where the user was going."""
    error, status, wait = None, 200, 0
    if request.method == "POST":
        username = request.form.get("username", "")
        wait = throttle.wait_for(username)
        user = None if wait else authenticate(get_conn(), username,
                                              request.form.get("password", ""))
        if user is not None:
            token = _start_session(user.user_id)
            resp = redirect(safe_next(request.args.get("next"), url_for("summary.home")))
            resp.set_cookie(COOKIE, token, httponly=True, samesite="Lax",
                            secure=request.is_secure,
                            max_age=current_app.config["SESSION_HOURS"] * 3600)
            resp.delete_cookie(LOGIN_COOKIE)
            return resp
        if not wait:
            wait = throttle.count_failed_login(username, "viewer")
            error, status = "Unknown user or wrong password.", 401
        if wait:
            error, status = throttle.message(wait), 429
    page = render_template("login.html", error=error)
    resp = current_app.make_response((page, status))
    if wait:
        resp.headers["Retry-After"] = str(wait)
    resp.set_cookie(LOGIN_COOKIE, csrf_token(), httponly=True, samesite="Strict",
                    secure=request.is_secure)
    return resp


@bp.post("/logout")
def logout() -> Response:
    """End the session (the CSRF check ran in :func:`guard`)."""
    token = request.cookies.get(COOKIE, "")
    conn = get_conn()
    conn.execute(text("DELETE FROM qc.viewer_sessions WHERE token_hash = :h"),
                 {"h": _digest(token)})
    conn.commit()
    resp = redirect(url_for("auth.login"))
    resp.delete_cookie(COOKIE)
    return resp
