"""pyvo's AuthSession exactly as its documentation shows it: credentials set once, the
TAP service built from its URL, nothing per URL; the logins are found in the services'
capabilities (securityMethod), also for DataLink, SODA and /getproduct, and across the
//obscore DataLink redirect."""

from __future__ import annotations

import io

import pytest
import pyvo
import requests
from astropy import units as u
from astropy.io import fits
from vo_support import PASSWORD

pytestmark = pytest.mark.slow

BASIC = "ivo://ivoa.net/sso#BasicAA"


def _session(user: str | None) -> pyvo.auth.AuthSession:
    auth = pyvo.auth.AuthSession()
    if user:
        auth.credentials.set_password(user, PASSWORD)
    return auth


def _link(links, semantics: str):
    """The first link of ``semantics`` (bysemantics() would download the IVOA vocabulary:
    no network here)."""
    return next(r for r in links if r["semantics"] == semantics)


def _obscore_row(vo_service, auth):
    tap = pyvo.dal.TAPService(vo_service.tap, session=auth)
    did = vo_service.pubdid(vo_service.embargoed)
    rows = tap.search("SELECT * FROM ivoa.obscore WHERE obs_publisher_did = "
                      f"'{did}'")
    assert len(rows) == 1
    return rows[0]


def test_capabilities_declare_the_login_and_anonymous_access(vo_service):
    """Every capability of TAP: an interface without securityMethod (anonymous) and one
    with HTTP basic (VOResource: one method per interface); one capability has the
    site's root as its base URL (so DataLink, SODA, /getproduct are covered)."""
    tap = pyvo.dal.TAPService(vo_service.tap)
    bases = []
    for cap in tap.capabilities:
        methods = sorted(tuple(m.standardid for m in i.securitymethods)
                         for i in cap.interfaces)
        assert methods == [(), (BASIC,)], (cap.standardid, methods)
        bases += [a.content for i in cap.interfaces for a in i.accessurls if a.use == "base"]
    assert f"{vo_service.url}/" in bases


def test_member_gets_the_embargoed_cube_and_a_cutout(vo_service):
    auth = _session("member")
    row = _obscore_row(vo_service, auth)
    assert row["access_format"] == "application/x-votable+xml;content=datalink"
    links = row.getdatalink()                 # the //obscore DataLink, then its redirect
    this = _link(links, "#this")
    resp = auth.get(this.access_url)
    assert resp.status_code == 200
    with fits.open(io.BytesIO(resp.content)) as hdus:
        assert hdus["DATA"].data.ndim == 3
        ra, dec = hdus["DATA"].header["CRVAL1"], hdus["DATA"].header["CRVAL2"]
    cut = row.processed(circle=[ra, dec, 1.0 / 3600] * u.deg, session=auth)
    with fits.open(io.BytesIO(cut.read())) as hdus:
        assert 0 < hdus[1].data.shape[1] < hdus[1].header["NAXIS2"] + 1
        assert hdus[1].data.shape[1] <= 12      # about 2 arcsec at 0.2 arcsec a spaxel


@pytest.mark.parametrize(("user", "codes"), [(None, {401}), ("stranger", {401, 403})])
def test_anonymous_and_strangers_are_refused(vo_service, user, codes):
    auth = _session(user)
    row = _obscore_row(vo_service, auth)
    links = row.getdatalink()
    this = _link(links, "#this")
    assert auth.get(this.access_url).status_code in codes
    with pytest.raises(pyvo.dal.DALServiceError) as err:
        row.processed(circle=[row["s_ra"], row["s_dec"], 1.0 / 3600] * u.deg, session=auth)
    assert any(str(c) in str(err.value) for c in codes) or "Unauthorized" in str(err.value) \
        or "Forbidden" in str(err.value)
    plain = requests.get(this.access_url, timeout=30)
    assert plain.status_code == 401
