"""The site as a registry harvester meets it: OAI-PMH ListRecords (every page) lists the
authority, the registry, TAP with its tables, SIAv2 and SSA; every record validates
against the schemas DaCHS ships (VOResource, VODataService, TAPRegExt, SIA, SSA), with
DaCHS's own validator; the contact is the configured one; the root page lists services."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET

import pytest
import requests

pytestmark = pytest.mark.slow

OAI = "{http://www.openarchives.org/OAI/2.0/}"
VALIDATE = ("from gavo.helpers import testtricks; import sys; "
            "errors = testtricks.getXSDErrors(sys.stdin.buffer.read()); "
            "print(errors or 'valid')")


def _harvest(base: str) -> list[bytes]:
    pages, params = [], {"verb": "ListRecords", "metadataPrefix": "ivo_vor"}
    while True:
        resp = requests.get(f"{base}/oai.xml", params=params, timeout=60)
        assert resp.status_code == 200
        pages.append(resp.content)
        token = ET.fromstring(resp.content).find(f".//{OAI}resumptionToken")
        if token is None or not (token.text or "").strip():
            return pages
        params = {"verb": "ListRecords", "resumptionToken": token.text.strip()}


def test_oai_pmh_records_are_there_and_valid(vo_service):
    pages = _harvest(vo_service.url)
    ids = set()
    for page in pages:
        root = ET.fromstring(page)
        assert root.find(f".//{OAI}error") is None, page[:500]
        ids |= {e.text for e in root.iter(f"{OAI}identifier")}
        check = subprocess.run(["/usr/bin/python3", "-c", VALIDATE], input=page,
                               capture_output=True, timeout=120, check=False)
        assert check.stdout.strip() == b"valid", check.stdout[-3000:] + check.stderr[-2000:]
    auth = f"ivo://{vo_service.authority}"
    assert {auth, f"{auth}/tap", f"{auth}/__system__/services/registry",
            f"{auth}/__system__/siap2/sitewide", f"{auth}/muse/ssa/ssa"} <= ids
    tap = requests.get(f"{vo_service.url}/oai.xml", timeout=60, params={
        "verb": "GetRecord", "metadataPrefix": "ivo_vor", "identifier": f"{auth}/tap"}).text
    assert "ivoa.obscore" in tap and "muse.metrics" in tap and "sso#BasicAA" in tap
    assert "vo-admin@musedc.invalid" in tap and "example.org" not in tap


def test_root_page_lists_the_services(vo_service):
    page = requests.get(f"{vo_service.url}/", timeout=60).text
    assert "TAP" in page and "spectra" in page
