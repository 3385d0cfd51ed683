"""Throttling of failed logins, per account and per client address, on every login path.

The policy (window, limits, audit) lives in the database (``sql/040_login_security.sql``:
``qc.login_wait`` and ``qc.login_failed``), so the viewer's form, its basic auth on
``/files`` and DaCHS's basic auth (``qcservice/vo/dachs/dachs_launch.py``) count the same failures.
A throttled attempt is answered 429 with ``Retry-After`` and its password is not checked.
"""

from __future__ import annotations

from flask import Response, request
from sqlalchemy import text

from qcservice.viewer.db import get_conn


def _address() -> str:
    # ProxyFix has already put the client's address here when proxies are trusted
    return request.remote_addr or "unknown"


def wait_for(username: str) -> int:
    """Seconds before ``username`` may try again from this client (0: now)."""
    return get_conn().execute(text("SELECT qc.login_wait(:u, :a)"),
                              {"u": username, "a": _address()}).scalar_one()


def count_failed_login(username: str, channel: str) -> int:
    """Count a wrong password (committed at once); returns the wait it causes."""
    conn = get_conn()
    wait = conn.execute(text("SELECT qc.login_failed(:u, :a, :c)"),
                        {"u": username, "a": _address(), "c": channel}).scalar_one()
    conn.commit()
    return wait


def message(wait: int) -> str:
    return (f"Too many failed logins: try again in {wait} s. Repeated failures lock an "
            f"account or an address for a few minutes only.")


def too_many(wait: int) -> Response:
    """A 429 answer (to a script's basic auth) that says when to come back."""
    return Response(message(wait) + "\n", 429, {"Retry-After": str(max(1, wait))},
                    mimetype="text/plain")
