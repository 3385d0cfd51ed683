"""DataLink and SODA against the real DaCHS, on the real MUSE cube (DATA in extension 1)."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
import pyvo
import requests
from astropy.io import fits

pytestmark = pytest.mark.slow


def _dl(vo_service, accref: str) -> pyvo.dal.adhoc.DatalinkResults:
    url = f"{vo_service.url}/muse/q/dl/dlmeta?ID={quote(vo_service.pubdid(accref), safe='')}"
    return pyvo.dal.adhoc.DatalinkResults.from_result_url(url)


def test_datalink_of_a_cube(vo_service):
    links = _dl(vo_service, vo_service.public)
    semantics = {row["semantics"] for row in links}
    assert {"#this", "#auxiliary", "#proc"} <= semantics
    assert "#preview" not in semantics       # no white-light PNG: no link to a 404
    this = next(r for r in links if r["semantics"] == "#this")   # no vocabulary download
    assert this["access_url"].endswith(vo_service.public)
    sim = _dl(vo_service, vo_service.embargoed)
    assert {"#this", "#preview", "#calibration", "#progenitor"} <= {r["semantics"] for r in sim}


def test_soda_cutout_pixels_equal_the_original(vo_service):
    with fits.open(vo_service.minicube) as hdus:
        head = hdus[1].header
        ra, dec = head["CRVAL1"], head["CRVAL2"]
    params = {"ID": vo_service.pubdid(vo_service.public),
              "CIRCLE": f"{ra} {dec} {1.2 / 3600}", "BAND": "6.0e-7 6.1e-7"}
    resp = requests.get(f"{vo_service.url}/muse/q/dl/dlget", params=params, timeout=60)
    assert resp.status_code == 200, resp.text[:500]
    with fits.open(io.BytesIO(resp.content)) as cut, \
            fits.open(vo_service.minicube, memmap=True) as orig:
        data, ch = cut[1].data, cut[1].header
        oh = orig[1].header
        x0, y0, z0 = (round(oh[f"CRPIX{i}"] - ch[f"CRPIX{i}"]) for i in (1, 2, 3))
        nz, ny, nx = data.shape
        assert 0 < nx < oh["NAXIS1"] and 0 < ny < oh["NAXIS2"] and 0 < nz < oh["NAXIS3"]
        wave0 = oh["CRVAL3"] + (z0 + 1 - oh["CRPIX3"]) * oh["CD3_3"]
        assert 5990 <= wave0 <= 6010
        expected = orig[1].data[z0:z0 + nz, y0:y0 + ny, x0:x0 + nx]
        np.testing.assert_array_equal(data, expected)
        assert len(cut) == 2          # primary + the cut DATA: never STAT/DQ in full


def test_soda_polygon_cutout(vo_service):
    with fits.open(vo_service.minicube) as hdus:
        ra, dec = hdus[1].header["CRVAL1"], hdus[1].header["CRVAL2"]
    d = 1.0 / 3600
    poly = f"{ra - d} {dec - d} {ra + d} {dec - d} {ra + d} {dec + d} {ra - d} {dec + d}"
    resp = requests.get(f"{vo_service.url}/muse/q/dl/dlget",
                        params={"ID": vo_service.pubdid(vo_service.public), "POLYGON": poly},
                        timeout=60)
    assert resp.status_code == 200
    with fits.open(io.BytesIO(resp.content)) as cut:
        assert cut[1].data.shape[0] == 3681 and cut[1].data.shape[1] < 40


def _server_kb(vo_service, field: str) -> int:
    pid = int(vo_service.instance.pid_file.read_text())
    status = Path(f"/proc/{pid}/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines()
                if line.startswith(f"{field}:"))


def test_soda_memory_does_not_follow_the_cutout(vo_service):
    """A cut-out of the whole cube (23 MB) grows the server's peak RSS by far less than
    its size: the bytes are copied in bounded chunks, not held in memory."""
    with fits.open(vo_service.minicube) as hdus:
        ra, dec = hdus[1].header["CRVAL1"], hdus[1].header["CRVAL2"]
    params = {"ID": vo_service.pubdid(vo_service.public),
              "CIRCLE": f"{ra} {dec} {30 / 3600}", "BAND": "4.0e-7 1.0e-6"}
    requests.get(f"{vo_service.url}/muse/q/dl/dlget", params=params, timeout=60)  # warm up
    pid = int(vo_service.instance.pid_file.read_text())
    Path(f"/proc/{pid}/clear_refs").write_text("5")         # VmHWM := VmRSS
    before = _server_kb(vo_service, "VmRSS")
    resp = requests.get(f"{vo_service.url}/muse/q/dl/dlget", params=params, timeout=60)
    assert resp.status_code == 200
    growth_mb = (_server_kb(vo_service, "VmHWM") - before) / 1024
    size_mb = len(resp.content) / 2 ** 20
    with fits.open(io.BytesIO(resp.content)) as cut:
        assert cut[1].data.shape == (3681, 40, 40)
    assert size_mb > 20
    assert growth_mb < size_mb / 4, (growth_mb, size_mb)
