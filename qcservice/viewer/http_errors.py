"""How the viewer fails: ids out of range are 404, a lost catalogue is a 503 page.

Every ``<int:...>`` in a route is a bigint id: a number beyond 64 bits cannot name a row,
so the URL does not match (404) instead of reaching PostgreSQL as a numeric and failing
there (500). When PostgreSQL cannot be reached, every page answers 503 with a page that
says so and ``Retry-After``; the pool reconnects by itself once the server is back.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, render_template
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.routing import IntegerConverter

BIGINT_MAX = 2**63 - 1
RETRY_AFTER_S = 30


class IdConverter(IntegerConverter):
    """``int`` in routes: a non-negative number that fits PostgreSQL's bigint."""

    def __init__(self, url_map, *args, **kwargs) -> None:
        kwargs.setdefault("max", BIGINT_MAX)
        super().__init__(url_map, *args, **kwargs)


def init_app(app: Flask) -> None:
    """Before the blueprints are registered: their int ids are then bounded."""
    app.url_map.converters["int"] = IdConverter
    for exc in (OperationalError, InterfaceError):
        app.register_error_handler(exc, _unavailable)


def _unavailable(exc: Exception) -> Response:
    # the cause goes to the log, never to the page (it names sockets and hosts)
    current_app.logger.error("catalogue unreachable: %s", str(exc).splitlines()[0])
    page = render_template("unavailable.html", retry=RETRY_AFTER_S)
    return Response(page, 503, {"Retry-After": str(RETRY_AFTER_S)}, mimetype="text/html")
