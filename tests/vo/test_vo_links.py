"""A link checker: every link of every published product's DataLink (reached as pyvo
reaches it, from an ObsCore result) and every VO link of the QA viewer answers: 2xx, or
401/403 without credentials for what is proprietary; a member gets 2xx everywhere."""

from __future__ import annotations

import re

import pytest
import pyvo
import requests
from flask import render_template
from vo_support import PASSWORD

from qcservice.viewer import create_app
from qcservice.viewer.files import datalink_url

pytestmark = pytest.mark.slow


def _status(url: str, auth=None) -> int:
    with requests.get(url, auth=auth, stream=True, timeout=60) as resp:
        return resp.status_code


@pytest.fixture(scope="module")
def datalinks(vo_service):
    tap = pyvo.dal.TAPService(vo_service.tap)
    result = tap.run_sync("SELECT * FROM ivoa.obscore WHERE obs_collection = 'MUSE-GTO'")
    assert len(result) >= 4
    out = {}
    for row, links in zip(result, result.iter_datalinks(preserve_order=True), strict=True):
        out[row["obs_publisher_did"]] = [(r["semantics"], r["access_url"]) for r in links
                                         if r["access_url"]]
    return out


def test_every_datalink_link_answers(vo_service, datalinks):
    """Each distinct URL once (products share their raw frames); what refuses anonymous
    clients must answer a member (a password check is a deliberately slow scrypt)."""
    urls = {}
    for did, links in datalinks.items():
        assert any(s == "#this" for s, _ in links), did
        for semantics, url in links:
            urls.setdefault(url, (did, semantics))
    refused = []
    for url, where in urls.items():
        anonymous = _status(url)
        assert 200 <= anonymous < 300 or anonymous in (401, 403), (where, url, anonymous)
        if anonymous >= 300:
            refused.append(url)
    assert len(urls) > 20 and refused
    for url in refused:
        member = _status(url, auth=("member", PASSWORD))
        assert 200 <= member < 300, (urls[url], url, member)


def test_public_and_embargoed_products_answer_as_they_should(vo_service, datalinks):
    public = datalinks[vo_service.pubdid(vo_service.public)]
    assert all(_status(url) < 300 for _, url in public)
    embargoed = dict(datalinks[vo_service.pubdid(vo_service.embargoed)])
    for semantics in ("#this", "#preview"):
        assert _status(embargoed[semantics]) == 401, semantics
    auxiliary = embargoed["#auxiliary"]
    assert auxiliary.startswith(vo_service.viewer_url)       # the viewer that runs


def test_the_viewer_vo_links_answer(vo_service):
    app = create_app(vo_service.settings, vo_service.engine,
                     config={"VO_URL": vo_service.url + "/"})
    file_id, filename = vo_service.public.split("/")[1:]
    with app.test_request_context():
        url = datalink_url({"kind": "product", "file_id": int(file_id), "filename": filename})
        page = render_template("links.html", vo=app.config["VO_URL"],
                               tap=vo_service.tap)
    resp = requests.get(url, timeout=60)
    assert resp.status_code == 200 and "#this" in resp.text and "Error" not in resp.text[:500]
    hrefs = [h for h in re.findall(r'href="([^"]+)"', page) if h.startswith(vo_service.url)]
    assert hrefs
    for href in hrefs:
        assert _status(href.replace("&amp;", "&")) < 300, href
