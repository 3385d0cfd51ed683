"""Database access for the viewer: one engine per app, one connection per request.

The engine lives in ``app.extensions``; :func:`get_conn` opens a connection on first
use in a request and :func:`close_conn` returns it to the pool when the request ends.
Nothing is opened at import time.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Connection, Engine, text


def init_app(app: Flask, engine: Engine) -> None:
    """Attach ``engine`` to ``app`` and close each request's connection at its end."""
    app.extensions["musedc_engine"] = engine
    app.teardown_appcontext(close_conn)


def get_engine() -> Engine:
    """The current app's engine."""
    return current_app.extensions["musedc_engine"]


def get_conn() -> Connection:
    """This request's connection (opened on first use)."""
    if "db_conn" not in g:
        g.db_conn = get_engine().connect()
    return g.db_conn


def close_conn(_exc: BaseException | None = None) -> None:
    """Roll back whatever was not committed and give the connection back."""
    conn = g.pop("db_conn", None)
    if conn is not None:
        conn.close()


def rows(sql: str, **params: Any) -> list[dict]:
    """The rows of a query as dicts."""
    return [dict(r._mapping) for r in get_conn().execute(text(sql), params)]


def row(sql: str, **params: Any) -> dict | None:
    """The first row of a query as a dict, or None."""
    found = get_conn().execute(text(sql), params).first()
    return dict(found._mapping) if found is not None else None
