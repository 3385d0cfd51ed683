"""The viewer's product page lists the ancillary data overlapping the product: the real
HST cutout on the real minicube's page, nothing on a cube elsewhere; proprietary
ancillary data only for their group."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, text
from support import abell478_field

from qcservice.ancillary.register import Rights, register_files
from qcservice.config import Settings
from qcservice.simulate import simulate_night
from qcservice.users import add_to_group, add_user
from qcservice.viewer import create_app

PASSWORD = "ancillary-pw-1"


@pytest.fixture
def app(settings: Settings, engine: Engine, minicube: Path, hst_cutout: Path,
        tmp_path: Path) -> Flask:
    simulate_night(tmp_path / "sim", "2024-03-10", scale="tiny", seed=3, workers=1)
    cubes = list((tmp_path / "sim").rglob("DATACUBE_FINAL_2.fits"))
    anc = abell478_field(engine, minicube, hst_cutout, cubes, tmp_path,
                         "a478-team-redshifts.txt")
    with engine.begin() as conn:
        conn.execute(text("UPDATE qc.files SET release_date = '2020-01-01'"))
        for name in ("member", "stranger"):
            add_user(conn, name, "reader", PASSWORD)
        add_to_group(conn, "member", "TEAM")
    register_files(engine, [anc / "a478hst-cutout.fits"], "HST-A478")
    register_files(engine, [anc / "a478-team-redshifts.txt"], "A478-TEAM",
                   Rights("TEAM", dt.date(2099, 1, 1)))
    return create_app(settings, engine, {"TESTING": True})


def _login(client, user: str) -> None:
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    resp = client.post("/login", data={"username": user, "password": PASSWORD,
                                       "csrf_token": token})
    assert resp.status_code == 302


def _ids(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        ids = dict(conn.execute(text("SELECT filename, file_id FROM qc.files")).all())
        ids.update(conn.execute(text("SELECT filename, anc_id FROM qc.ancillary")).all())
    return ids


def _listed(page: str) -> list[str]:
    table = re.search(r'<table class="list" id="ancillary-list">(.*?)</table>', page, re.S)
    return re.findall(r'/ancillary/\d+/([^"]+)"', table.group(1)) if table else []


@pytest.mark.slow
def test_product_page_lists_overlapping_ancillary(app: Flask, engine: Engine) -> None:
    ids = _ids(engine)
    client = app.test_client()
    _login(client, "stranger")
    page = client.get(f"/cube/{ids['minicube.fits']}").get_data(as_text=True)
    assert _listed(page) == ["a478hst-cutout.fits"]
    assert "WFPC2" in page and "F814W" in page and "HST-A478" in page
    other = client.get(f"/cube/{ids['DATACUBE_FINAL_2.fits']}").get_data(as_text=True)
    assert _listed(other) == [] and 'id="no-ancillary"' in other
    got = client.get(f"/ancillary/{ids['a478hst-cutout.fits']}/a478hst-cutout.fits")
    with engine.connect() as conn:
        path = conn.execute(text("SELECT path FROM qc.ancillary WHERE collection = "
                                 "'HST-A478'")).scalar_one()
    assert got.status_code == 200 and got.data == Path(path).read_bytes()


@pytest.mark.slow
def test_proprietary_ancillary_only_for_its_group(app: Flask, engine: Engine) -> None:
    ids = _ids(engine)
    cat = f"/ancillary/{ids['a478-team-redshifts.txt']}/a478-team-redshifts.txt"
    member, stranger = app.test_client(), app.test_client()
    _login(member, "member")
    _login(stranger, "stranger")
    cube = f"/cube/{ids['minicube.fits']}"
    assert _listed(member.get(cube).get_data(as_text=True)) == [
        "a478-team-redshifts.txt", "a478hst-cutout.fits"]
    assert _listed(stranger.get(cube).get_data(as_text=True)) == ["a478hst-cutout.fits"]
    assert stranger.get(cat).status_code == 404
    got = member.get(cat)
    assert got.status_code == 200 and got.data.startswith(b"ID RA DEC")
