"""Proprietary data: every path that serves pixels of an embargoed product answers 401/403
to anonymous clients and non-members, 200 to a member. One test per path."""

from __future__ import annotations

from urllib.parse import quote

import pytest
import requests
from conftest import PASSWORD

pytestmark = pytest.mark.slow

MEMBER = ("member", PASSWORD)
STRANGER = ("stranger", PASSWORD)


def _check(url: str, params: dict | None = None) -> None:
    anon = requests.get(url, params=params, timeout=60)
    assert anon.status_code in (401, 403), (url, anon.status_code)
    other = requests.get(url, params=params, auth=STRANGER, timeout=60)
    assert other.status_code in (401, 403), (url, other.status_code)
    wrong = requests.get(url, params=params, auth=("member", "wrong"), timeout=60)
    assert wrong.status_code in (401, 403), (url, wrong.status_code)
    member = requests.get(url, params=params, auth=MEMBER, timeout=60)
    assert member.status_code == 200, (url, member.status_code, member.text[:300])
    assert len(member.content) > 0


def test_getproduct_is_protected(vo_service):
    _check(f"{vo_service.url}/getproduct/{vo_service.embargoed}")


def test_getproduct_preview_is_protected(vo_service):
    _check(f"{vo_service.url}/getproduct/{vo_service.embargoed}", {"preview": "True"})


def test_preview_service_is_protected(vo_service):
    _check(f"{vo_service.url}/muse/q/pv/dlget", {"ID": vo_service.pubdid(vo_service.embargoed)})


def test_soda_cutout_is_protected(vo_service):
    _check(f"{vo_service.url}/muse/q/dl/dlget",
           {"ID": vo_service.pubdid(vo_service.embargoed), "BAND": "6.0e-7 6.1e-7"})


def test_datalink_served_file_is_protected(vo_service):
    # dlget without parameters hands out the whole file through DataLink
    _check(f"{vo_service.url}/muse/q/dl/dlget", {"ID": vo_service.pubdid(vo_service.embargoed)})


def test_public_product_needs_no_credentials(vo_service):
    url = f"{vo_service.url}/getproduct/{vo_service.public}"
    assert requests.get(url, timeout=60).status_code == 200
    did = quote(vo_service.pubdid(vo_service.public), safe="")
    dl = requests.get(f"{vo_service.url}/muse/q/dl/dlmeta?ID={did}", timeout=60)
    assert dl.status_code == 200
