"""DaCHS's own checks of the RDs: ``dachs val`` (metadata, UCDs, null values) and the RDs'
regression suites run by ``dachs test`` against the running service (TAP, SIAv2, SSA,
DataLink, SODA, an embargoed product refused) -- what DaCHS sites run every night.

``dachs val`` checks the subjects of registered services against the IVOA UAT, which it
downloads from www.ivoa.net: without network it stops there with "No such vocabulary:
uat". That one line is the only error accepted, and only while the UAT cannot be
fetched; the subjects are UAT terms (spectroscopy, virtual-observatories)."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.slow

RDS = ("muse/q", "muse/ssa")
OFFLINE_UAT = "No such vocabulary: uat"


def test_dachs_val_reports_nothing(vo_service):
    proc = vo_service.instance.run("val", *RDS, check=False)
    out = proc.stdout + proc.stderr
    assert "WARNING" not in out, out
    errors = [line for line in out.splitlines() if "Error" in line or "error" in line]
    assert all(OFFLINE_UAT in line for line in errors), out
    for rd in RDS:
        assert re.search(rf"^{rd} -- ", out, re.M), out


@pytest.mark.parametrize("rd", RDS)
def test_dachs_regression_suites_pass(vo_service, rd):
    proc = vo_service.instance.run("test", "-u", vo_service.url, "-v", rd, check=False)
    out = proc.stdout + proc.stderr
    summary = re.search(r"(\d+) of (\d+) bad", out)
    assert summary, out
    bad, total = int(summary.group(1)), int(summary.group(2))
    assert bad == 0 and total >= 2, out
