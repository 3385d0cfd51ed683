"""The protection tests against a running production stack, through its proxy only.

    MUSEDC_STACK=STACK.json python -m pytest tests/stack

scripts/deploy-check.sh runs them against the containers (in a container of the image, on
the host's network). STACK.json: vo and viewer (https base URLs), ca (the stack's CA
certificate), resolve (host name -> address), authority, password (of the users member,
stranger and guesser), embargoed, spectrum and public (accref, file_id, filename of an
embargoed cube, an embargoed spectrum of the same owner and a public cube), images (ids of
the embargoed cube's QC images). The VO protection tests of tests/vo run here unchanged
against the stack (test_stack_vo.py imports them); without MUSEDC_STACK nothing here is
collected: the stack takes minutes to start, and the ordinary suite tests the same rules
against the embedded services.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

STACK = os.environ.get("MUSEDC_STACK", "")
CFG: dict = json.loads(Path(STACK).read_text()) if STACK else {}

if not STACK:
    collect_ignore_glob = ["test_*.py"]
else:
    sys.path.insert(0, str(Path(__file__).parents[1] / "vo"))
    import vo_support

    # tests/vo's modules take the users' password from vo_support: the stack's, here
    vo_support.PASSWORD = CFG["password"]
    os.environ["REQUESTS_CA_BUNDLE"] = CFG["ca"]    # requests, and pyvo through it
    _getaddrinfo = socket.getaddrinfo

    def _resolve(host, *args, **kwargs):
        """The stack's host names, as a DNS would give them (no /etc/hosts edit)."""
        return _getaddrinfo(CFG["resolve"].get(host, host), *args, **kwargs)

    socket.getaddrinfo = _resolve


@dataclass
class StackService:
    """What tests/vo's protection tests need of the VO service (their vo_service)."""

    url: str
    authority: str
    embargoed: str      # accref of the embargoed cube
    public: str         # accref of a public cube
    spectrum: str       # accref of an embargoed spectrum (same owner as the cube)

    @property
    def tap(self) -> str:
        return f"{self.url}/tap"

    def pubdid(self, accref: str) -> str:
        return f"ivo://{self.authority}/~?{accref}"


@pytest.fixture(scope="session")
def stack() -> dict:
    return CFG


@pytest.fixture(scope="session")
def vo_service(stack: dict) -> StackService:
    return StackService(stack["vo"], stack["authority"], stack["embargoed"]["accref"],
                        stack["public"]["accref"], stack["spectrum"]["accref"])
