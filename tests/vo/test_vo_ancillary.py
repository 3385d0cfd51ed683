"""Ancillary data through the real DaCHS: the real HST cutout of Abell 478, registered,
is a #counterpart in the DataLink of the real minicube (and on its viewer page), not in
that of a simulated cube elsewhere; TAP serves muse.ancillary; an embargoed ancillary
file is guarded by /getproduct like any product."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
from urllib.parse import quote

import pytest
import pyvo
import requests
from astropy.io.votable import parse_single_table
from sqlalchemy import text
from support import open_tempdir
from vo_support import PASSWORD

from qcservice.ancillary.register import Rights, register_files, remove_files
from qcservice.viewer import create_app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def registered(vo_service, hst_cutout):
    """The HST cutout (public) and mpdaf's catalogue of the field (embargoed, owned by
    the embargoed cube's group) registered, then published."""
    folder = open_tempdir("musedc-anc-")
    shutil.copy(hst_cutout, folder / "a478hst-cutout.fits")
    shutil.copy(hst_cutout.parent / "cat.txt", folder / "a478-redshifts.txt")
    for path in folder.iterdir():
        path.chmod(0o644)
    engine = vo_service.engine
    with engine.connect() as conn:
        owner = conn.execute(text(
            "SELECT g.name FROM qc.files f JOIN qc.groups g ON g.group_id = f.owner_group_id "
            "WHERE f.filename = 'DATACUBE_FINAL_1.fits'")).scalar_one()
    register_files(engine, [folder / "a478hst-cutout.fits"], "HST-A478")
    register_files(engine, [folder / "a478-redshifts.txt"], "A478-Z",
                   Rights(owner, dt.date(2099, 1, 1)))
    vo_service.republish()
    with engine.connect() as conn:
        ids = dict(conn.execute(text("SELECT filename, anc_id FROM qc.ancillary")).all())
    yield {"folder": folder, "ids": ids}
    # leave the published state as found: no DataLink #counterpart to deleted files
    remove_files(engine, list(folder.iterdir()))
    vo_service.republish()
    shutil.rmtree(folder, ignore_errors=True)


def _links(vo_service, accref: str) -> list[dict]:
    did = quote(vo_service.pubdid(accref), safe="")
    resp = requests.get(f"{vo_service.url}/muse/q/dl/dlmeta?ID={did}", timeout=60)
    assert resp.status_code == 200
    table = parse_single_table(io.BytesIO(resp.content)).to_table()
    return [{k: row[k] for k in table.colnames} for row in table]


def test_minicube_datalink_lists_the_hst_cutout(vo_service, registered):
    counterparts = [r for r in _links(vo_service, vo_service.public)
                    if r["semantics"] == "#counterpart"]
    anc_id = registered["ids"]["a478hst-cutout.fits"]
    urls = {r["access_url"] for r in counterparts}
    hst_url = f"{vo_service.url}/getproduct/muse/anc/{anc_id}/a478hst-cutout.fits"
    assert hst_url in urls
    hst = next(r for r in counterparts if r["access_url"] == hst_url)
    assert hst["content_type"] == "image/fits"
    assert "WFPC2" in hst["description"] and "HST-A478" in hst["description"]
    got = requests.get(hst_url, timeout=60)
    assert got.status_code == 200
    assert got.content == (registered["folder"] / "a478hst-cutout.fits").read_bytes()
    assert int(hst["content_length"]) == len(got.content)


def test_cube_elsewhere_lists_no_counterpart(vo_service, registered):
    with vo_service.engine.connect() as conn:
        fid = conn.execute(text("SELECT file_id FROM qc.files "
                                "WHERE filename = 'DATACUBE_FINAL_2.fits'")).scalar_one()
    links = _links(vo_service, f"muse/{fid}/DATACUBE_FINAL_2.fits")
    assert any(r["semantics"] == "#this" for r in links)
    assert not [r for r in links if r["semantics"] == "#counterpart"]


def test_tap_serves_ancillary_by_overlap(vo_service, registered):
    tap = pyvo.dal.TAPService(vo_service.tap)
    found = tap.run_sync(
        "SELECT o.obs_id, a.filename, a.kind, a.instrument_name, a.band "
        "FROM ivoa.obscore AS o JOIN muse.ancillary AS a "
        "ON INTERSECTS(a.s_region, o.s_region) = 1 "
        "WHERE o.dataproduct_type = 'cube'").to_table()
    pairs = {(str(r["obs_id"]), str(r["filename"])) for r in found}
    mini = "musedc-" + vo_service.public.split("/")[1]
    assert pairs == {(mini, "a478hst-cutout.fits"), (mini, "a478-redshifts.txt")}
    hst = next(r for r in found if r["filename"] == "a478hst-cutout.fits")
    assert (hst["kind"], hst["instrument_name"], hst["band"]) == ("image", "WFPC2", "F814W")
    sums = tap.run_sync("SELECT checksum FROM muse.file_checksums "
                        "WHERE filename = 'a478hst-cutout.fits'").to_table()
    assert str(sums[0]["checksum"]).startswith("sha256:")


def test_embargoed_ancillary_is_guarded(vo_service, registered):
    anc_id = registered["ids"]["a478-redshifts.txt"]
    url = f"{vo_service.url}/getproduct/muse/anc/{anc_id}/a478-redshifts.txt"
    assert requests.get(url, timeout=60).status_code in (401, 403)
    assert requests.get(url, auth=("stranger", PASSWORD), timeout=60).status_code in (401,
                                                                                       403)
    member = requests.get(url, auth=("member", PASSWORD), timeout=60)
    assert member.status_code == 200 and member.content.startswith(b"ID RA DEC")


def test_viewer_page_of_the_minicube_lists_it(vo_service, registered):
    app = create_app(vo_service.settings, vo_service.engine, {"TESTING": True})
    client = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"username": "stranger", "password": PASSWORD,
                                       "csrf_token": token}).status_code == 302
    fid = vo_service.public.split("/")[1]
    page = client.get(f"/cube/{fid}").get_data(as_text=True)
    listed = re.search(r'id="ancillary-list">(.*?)</table>', page, re.S).group(1)
    assert "a478hst-cutout.fits" in listed
    assert "a478-redshifts.txt" not in listed  # embargoed: not the stranger's
