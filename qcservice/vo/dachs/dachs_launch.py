"""Start the DaCHS command line (Debian's python3-gavo) with the data centre's passwords.

The MUSE data centre keeps one user database (qc.users, managed by ``musedc users``) whose
passwords are werkzeug scrypt hashes (``scrypt:N:r:p$salt$hex``). ``musedc vo sync-users``
copies those hashes into DaCHS's dc.users; this launcher teaches DaCHS's credential check
to verify them, so one password works in the QA viewer and in every VO service. Hashes in
DaCHS's own format keep working. Run as: python3 dachs_launch.py serve start --foreground

It also puts two checks in front of DaCHS (issue #16):
- failed basic-auth logins are throttled like the viewer's, by the same SQL functions
  (qc.login_wait, qc.login_failed: policy and audit row in sql/040_login_security.sql):
  a throttled request is answered 429 with Retry-After before DaCHS sees it;
- a database that cannot be reached is reported as such, without the socket path and
  the pg_hba.conf hint DaCHS would show anyone (they go to DaCHS's log).

And it mends DaCHS 2.7's capabilities (issue #13): the login is declared as VOResource
spells it (``standardID``, one securityMethod per interface), so pyvo and TOPCAT find it.

Each DaCHS function replaced here goes through ``_replace``, which records the original in
``REPLACED``: tests/vo/test_vo_dachs_internals.py pins the signature and source of each
(checked against DaCHS 2.7) and fails, naming the function, when a DaCHS release changes one.
"""

import hashlib
import hmac
import os
import secrets
import sys
import time

from gavo import base, utils
from gavo.base import sqlsupport
from gavo.protocols import creds
from gavo.registry import capabilities
from gavo.registry.model import VOR
from gavo.web import common

REPLACED = {}   # "module.qualname" of DaCHS's original -> it, for the test that pins them


def _replace(owner, name, new):
    """Put ``new`` in place of DaCHS's ``owner.name``; return the original."""
    original = getattr(owner, name)
    REPLACED[f"{original.__module__}.{original.__qualname__}"] = original
    setattr(owner, name, new)
    return original


def _werkzeug_scrypt_matches(password, stored):
    method, salt, digest = stored.split("$", 2)
    _name, n, r, p = method.split(":")
    n, r, p = int(n), int(r), int(p)
    computed = hashlib.scrypt(password.encode("utf-8"), salt=salt.encode("utf-8"),
                              n=n, r=r, p=p, maxmem=132 * n * r * p, dklen=64)
    return hmac.compare_digest(computed.hex(), digest)


def hash_matches(password, stored):
    """DaCHS's check, extended to werkzeug scrypt hashes."""
    if stored and stored.startswith("scrypt:") and "$" in stored:
        if len(password) > creds.MAX_PASSWORD_LENGTH:
            return False
        return _werkzeug_scrypt_matches(password, stored)
    return _dachs_hash_matches(password, stored)


_dachs_hash_matches = _replace(creds, "hashMatches", hash_matches)

# --- throttled basic auth ----------------------------------------------------------------
_VERIFIED_S = 60            # a verified password is not checked twice within this time
_verified = {}              # keyed HMAC of (user, password) -> expiry
_KEY = secrets.token_bytes(32)
_PROXIES = int(os.environ.get("MUSEDC_VO_PROXIES", "0") or 0)


def _client(request):
    """The client's address: the peer, or the address trusted proxies put in front."""
    forwarded = request.requestHeaders.getRawHeaders(b"x-forwarded-for") or []
    hops = [h.strip() for h in b",".join(forwarded).decode("latin-1").split(",") if h.strip()]
    if _PROXIES and len(hops) >= _PROXIES:
        return hops[-_PROXIES]
    return getattr(request.getClientAddress(), "host", "unknown")


def _sql(query, args):
    with base.getWritableAdminConn() as conn:
        return next(iter(conn.query(query, args)))[0]


def _right_password(user, password):
    key = hmac.new(_KEY, user.encode() + b"\0" + password.encode(), "sha256").digest()
    if _verified.get(key, 0) > time.monotonic():
        return True
    try:
        good = creds.hasCredentials(user, password, None)
    except Exception:   # overlong password and the like: a failure like any other
        good = False
    if good:
        now = time.monotonic()
        if len(_verified) > 10_000:   # forget the expired ones now and then
            for stale in [k for k, until in _verified.items() if until <= now]:
                del _verified[stale]
        _verified[key] = now + _VERIFIED_S
    return good


def _text(value):
    """DaCHS's request gives None, str or bytes for absent or present credentials."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value or ""


def _too_many(request, wait):
    request.setResponseCode(429)
    request.setHeader(b"retry-after", str(max(1, wait)).encode())
    request.setHeader(b"content-type", b"text/plain; charset=utf-8")
    request.write(f"Too many failed logins: try again in {wait} s.\n".encode())
    request.finish()


def process(request):
    """Before DaCHS handles a request with basic credentials: refuse it when the account
    or the address is throttled, count it when the password is wrong."""
    user = _text(request.getUser())
    if user:
        password = _text(request.getPassword())
        args = {"u": user, "a": _client(request)}
        try:
            wait = _sql("SELECT qc.login_wait(%(u)s, %(a)s)", args)
            if not wait and not _right_password(user, password):
                wait = _sql("SELECT qc.login_failed(%(u)s, %(a)s, 'vo')", args)
        except Exception as exc:   # no database: DaCHS's own check fails the same way
            base.ui.notifyError(f"login throttle unavailable: {exc}")
            wait = 0
        if wait:
            return _too_many(request, wait)
    return _dachs_process(request)


_dachs_process = _replace(common.Request, "process", process)

# --- an unreachable database, said without internal paths --------------------------------

def get_db_connection(*args, **kwargs):
    try:
        return _dachs_connect(*args, **kwargs)
    except utils.ReportableError as exc:
        base.ui.notifyError(f"database unreachable: {exc}")
        raise utils.ReportableError("The database of this service is unreachable at the"
                                    " moment. Please try again in a minute.") from None


_dachs_connect = _replace(sqlsupport, "getDBConnection", get_db_connection)


class _SecurityMethod(VOR.securityMethod):
    """``<securityMethod standardID=...>``: DaCHS 2.7 writes the attribute as
    ``standardId``, which VOResource does not know (clients such as pyvo then see
    anonymous access only)."""

    name_ = "securityMethod"
    _a_standardID = None

    def isEmpty(self):
        return self.standardID is None


def _named(child, name):
    return getattr(child, "name_", None) == name



def capability_element(publication):
    """DaCHS's capability, with

    - its interfaces twice when the site declares a ``securityId``: without a
      securityMethod (anonymous access) and with it (VOResource 1.1 allows one method
      per interface: several methods are several interfaces);
    - a ``capabilityId`` meta of the publication as its standardID (DaCHS leaves a web
      page's capability without one, and taplint 3.4 then stops with a
      NullPointerException).
    """
    cap = _dachs_capability(publication)
    if cap is None:
        return cap
    ident = base.getMetaText(publication, "securityId")
    if ident:
        # a second, independent build of the same capability gives the second set
        secured = [c for c in _dachs_capability(publication)._children
                   if _named(c, "interface")]
        for interface in secured:
            kids = interface._children
            first = next((i for i, c in enumerate(kids) if _named(c, "securityMethod")), 1)
            kids[:] = [c for c in kids if not _named(c, "securityMethod")]
            kids.insert(first, _SecurityMethod(standardID=ident))
            interface._isEmptyCache = None
        children = cap._children
        for interface in children:
            if _named(interface, "interface"):
                interface._children[:] = [c for c in interface._children
                                          if not _named(c, "securityMethod")]
                interface._isEmptyCache = None
        last = max(i for i, c in enumerate(children) if _named(c, "interface"))
        children[last + 1:last + 1] = secured
        cap._isEmptyCache = None
    standard = base.getMetaText(publication, "capabilityId", propagate=False,
                                macroPackage=publication.parent)
    if standard:
        cap = cap(standardID=standard)
    return cap


_dachs_capability = _replace(capabilities, "getCapabilityElement", capability_element)

if __name__ == "__main__":
    from gavo.user.cli import main

    sys.argv[0] = "dachs"
    sys.exit(main())
