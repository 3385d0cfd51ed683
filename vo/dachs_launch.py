"""Start the DaCHS command line (Debian's python3-gavo) with the data centre's passwords.

The MUSE data centre keeps one user database (qc.users, managed by ``musedc users``) whose
passwords are werkzeug scrypt hashes (``scrypt:N:r:p$salt$hex``). ``musedc vo sync-users``
copies those hashes into DaCHS's dc.users; this launcher teaches DaCHS's credential check
to verify them, so one password works in the QA viewer and in every VO service. Hashes in
DaCHS's own format keep working. Run as: python3 dachs_launch.py serve start --foreground
"""

import hashlib
import hmac
import sys

from gavo import base
from gavo.protocols import creds
from gavo.registry import capabilities
from gavo.registry.model import VOR

_dachs_hash_matches = creds.hashMatches


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


creds.hashMatches = hash_matches


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


_dachs_capability = capabilities.getCapabilityElement


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


capabilities.getCapabilityElement = capability_element

if __name__ == "__main__":
    from gavo.user.cli import main

    sys.argv[0] = "dachs"
    sys.exit(main())
