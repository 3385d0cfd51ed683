"""The DaCHS internals that the launcher (``dachs_launch.py``) replaces or leans on, pinned.

DaCHS 2.7 has no public interface for what the launcher does: verifying the viewer's
werkzeug scrypt hashes (its own check knows only its scrypt n=4 format, and the viewer's
hashes cannot be turned into it without the passwords), throttling failed basic-auth logins
before DaCHS answers, hiding the database's socket path from error pages, and writing the
login into the capabilities as VOResource spells it. So it replaces four DaCHS functions. A
DaCHS release that renames, re-signs or rewrites one of them could break every VO login
without an error anywhere: this test reads each one under Debian's python3 (the one that
runs DaCHS) and fails, naming the function and what changed, so that the launcher is
re-read against the new code before that release is used. The pins were taken from DaCHS
2.7 (python3-gavo 2.7+dfsg-2); ``PINNED_VERSION`` says so in every message.
"""

from __future__ import annotations

import json
import subprocess

from qcservice.vo.instance import SYSTEM_PYTHON, TEMPLATE_DIR

PINNED_VERSION = "2.7"
# "module.qualname": (signature, sha256 of the source, first 16 hex digits)
REPLACED = {
    "gavo.protocols.creds.hashMatches": ("(pwIn, storedHash)", "7d75675e9885d78e"),
    "gavo.web.common.Request.process": ("(self)", "016188db62fa2ea5"),
    "gavo.base.sqlsupport.getDBConnection":
        ("(profile, debug=False, autocommitted=False)", "94e5d94dbd4b1447"),
    "gavo.registry.capabilities.getCapabilityElement": ("(publication)", "823f464d35cbbb72"),
}
# what the replacements call or reach into, beside the functions they replace
RELIED_ON = {
    "gavo.protocols.creds.hasCredentials": ("(user, password, reqGroup)", "7c0313b369e9cb5e"),
    # the capabilities' elements: their _children and _isEmptyCache
    "gavo.utils.stanxml.Element.isEmpty": ("(self)", "8992b71c77aefaff"),
    "gavo.registry.model.VOR.securityMethod.isEmpty": ("(self)", "3cb995d589db5487"),  # standardId
}

PROBE = """
import hashlib, importlib, inspect, json, sys
sys.path.insert(0, sys.argv[1])
import dachs_launch
from gavo import base

def find(dotted):
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name, None)
        return obj

def pin(obj):
    if obj is None:
        return None
    source = inspect.getsource(obj)
    return [str(inspect.signature(obj)), hashlib.sha256(source.encode()).hexdigest()[:16]]

names = json.loads(sys.argv[2])
print(json.dumps({"version": base.getVersion(),
                  "replaced": {k: pin(v) for k, v in dachs_launch.REPLACED.items()},
                  "relied_on": {k: pin(find(k)) for k in names}}))
"""


def _probe() -> dict:
    proc = subprocess.run(
        [SYSTEM_PYTHON, "-c", PROBE, str(TEMPLATE_DIR), json.dumps(list(RELIED_ON))],
        capture_output=True, text=True, timeout=120, check=False,
        env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LC_ALL": "C.UTF-8"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _changes(pins: dict, found: dict, version: str) -> list[str]:
    changes = []
    for name, pinned in pins.items():
        now = found.get(name)
        if now is None:
            changes.append(f"{name} is gone from DaCHS {version}")
        elif now[0] != pinned[0]:
            changes.append(f"{name}: signature {pinned[0]} (DaCHS {PINNED_VERSION}) is now"
                           f" {now[0]} (DaCHS {version})")
        elif now[1] != pinned[1]:
            changes.append(f"{name}: its source changed since DaCHS {PINNED_VERSION} (sha256"
                           f" {pinned[1]}.. is now {now[1]}.. in DaCHS {version})")
    return changes


def test_dachs_internals_replaced_by_the_launcher_are_unchanged():
    found = _probe()
    version = found["version"]
    unpinned = set(found["replaced"]) - set(REPLACED)
    assert not unpinned, f"dachs_launch.py replaces {sorted(unpinned)}: pin them here"
    changes = (_changes(REPLACED, found["replaced"], version)
               + _changes(RELIED_ON, found["relied_on"], version))
    assert not changes, ("DaCHS changed what the launcher (vo/dachs/dachs_launch.py) replaces"
                         " or relies on; re-read it against DaCHS, then update the pins:\n"
                         + "\n".join(changes))
