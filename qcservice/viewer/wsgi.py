"""The viewer in production: a WSGI application for gunicorn, built from MUSEDC_* settings.

    gunicorn --preload --bind 0.0.0.0:8000 --worker-class gthread --workers 2 --threads 8 \\
        --no-control-socket --access-logfile - 'qcservice.viewer.wsgi:production_app()'

What production mode changes, compared with ``musedc viewer serve`` (werkzeug, one machine):

- every cookie carries ``Secure`` (browsers then send it over HTTPS only), on top of the
  ``HttpOnly`` and ``SameSite`` the viewer always sets;
- debug is off, and ``FLASK_DEBUG`` set to a true value is an error, not a warning;
- ``MUSEDC_VIEWER_PROXIES`` reverse proxies (default 1) are trusted for the client's
  address, scheme, host and path prefix (``X-Forwarded-For``, ``-Proto``, ``-Host``,
  ``-Prefix``: the viewer may live under e.g. /qa); 0 when gunicorn faces the clients;
- ``MUSEDC_VO_URL`` must be set: its default (127.0.0.1) would send remote browsers to
  their own machine; so must ``MUSEDC_VIEWER_URL``, the viewer's own public URL, which is
  what download scripts point to (never the request's Host or X-Forwarded-Host: a client
  may set those to its own host and collect the password the script sends).

There is no secret key to configure: the viewer signs nothing. A session is a random token
in a cookie whose SHA-256 is kept in ``qc.viewer_sessions``, so every gunicorn worker (and
every host) recognises it without a shared key, and Flask's signed ``session`` stays
disabled: using it would fail loudly ("no secret key was set") instead of signing with a
random per-process key.

``--preload`` builds the app once, in gunicorn's master: a configuration error stops gunicorn
at once with its message, and the embedded PostgreSQL (no ``MUSEDC_DATABASE_URL``) is
started once rather than by every worker at the same time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix

from qcservice.config import ConfigError, Settings, ViewerSettings, load_settings
from qcservice.viewer import create_app

_FALSE = ("", "0", "false", "no", "off")


def production_config(source: Settings | Mapping[str, str]) -> dict[str, Any]:
    """Flask settings of the production viewer from the viewer section of ``source``
    (settings, or an environment to load them from); ConfigError when one is wrong."""
    settings = source if isinstance(source, Settings) else load_settings(source)
    viewer = settings.viewer
    if viewer.debug.strip().lower() not in _FALSE:
        raise ConfigError(f"FLASK_DEBUG={viewer.debug!r}: the production viewer never runs in "
                          f"debug mode (it would show tracebacks to anyone); unset FLASK_DEBUG")
    vo_url = _public_url(viewer.vo_url, "MUSEDC_VO_URL", "of the VO services (e.g. "
                         "https://vo.example.org/)")
    viewer_url = _public_url(viewer.public_url, "MUSEDC_VIEWER_URL", "of this viewer, for the "
                             "download scripts it writes (e.g. https://musedc.example.org/)")
    return {
        "DEBUG": False, "TESTING": False, "PROPAGATE_EXCEPTIONS": False,
        "SESSION_COOKIE_SECURE": True, "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax", "PREFERRED_URL_SCHEME": "https",
        "VO_URL": vo_url.rstrip("/") + "/", "PUBLIC_URL": viewer_url.rstrip("/") + "/",
        "TRUSTED_PROXIES": trusted_proxies(viewer),
    }


def _public_url(url: str, name: str, what: str) -> str:
    url = url.strip()
    if not url:
        raise ConfigError(f"{name} is not set: the production viewer needs the public base "
                          f"URL {what}")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{name}={url!r} is not an http(s) URL")
    return url


def trusted_proxies(viewer: ViewerSettings) -> int:
    """``MUSEDC_VIEWER_PROXIES``: how many reverse proxies stand before gunicorn (default 1)."""
    raw = viewer.proxies.strip() or "1"
    try:
        count = int(raw)
    except ValueError:
        count = -1
    if not 0 <= count <= 5:
        raise ConfigError(f"MUSEDC_VIEWER_PROXIES={raw!r}: give the number of reverse proxies "
                          f"in front of the viewer, 0 to 5 (0: gunicorn faces the clients)")
    return count


def production_app(env: Mapping[str, str] | None = None) -> Flask:
    """The viewer for gunicorn: settings from ``env`` (default the process environment),
    production configuration, every cookie Secure, the trusted proxies' X-Forwarded-* headers
    honoured."""
    settings = load_settings(env)
    config = production_config(settings)
    app = create_app(settings, config=config)
    app.after_request(_secure_cookies)
    proxies = config["TRUSTED_PROXIES"]
    if proxies:
        fixed = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies,
                         x_prefix=proxies)
        app.wsgi_app = fixed  # type: ignore[method-assign]
    return app


def _secure_cookies(resp: Response) -> Response:
    """Add ``Secure`` to every cookie the response sets (the views set it only when the
    request itself came over HTTPS, which a misconfigured proxy could hide)."""
    cookies = resp.headers.getlist("Set-Cookie")
    if not cookies:
        return resp
    del resp.headers["Set-Cookie"]
    for cookie in cookies:
        attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
        resp.headers.add("Set-Cookie", cookie if "secure" in attributes else cookie + "; Secure")
    return resp
