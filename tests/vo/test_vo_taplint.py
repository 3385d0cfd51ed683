"""The IVOA validator, Debian's ``stilts taplint``, against the running service.

Stages run: every stage of taplint 3.4 except
- LOC (ObsLocTAP: we publish no observation plans, there is no ivoa.obsplan table) and
- EPN (EPN-TAP: a planetary-science data model; MUSE data is not EPN-TAP data).
"""

from __future__ import annotations

import re
import subprocess

import pytest

STAGES = "TMV TME TMS TMC CAP AVV QGE QPO QAS UWS MDQ OBS UPL EXA"

pytestmark = pytest.mark.slow


def test_taplint_has_no_errors_and_no_failures(vo_service):
    proc = subprocess.run(
        ["stilts", "taplint", f"tapurl={vo_service.tap}", f"stages={STAGES}",
         "report=EWFS", "maxrepeat=3"],
        capture_output=True, text=True, timeout=240, check=False)
    out = proc.stdout
    totals = re.search(r"Totals: Errors: (\d+); Warnings: (\d+);.*Failures: (\d+)", out)
    assert totals, out[-2000:]
    errors, _warnings, failures = (int(g) for g in totals.groups())
    problems = "\n".join(line for line in out.splitlines() if line[:2] in ("E-", "F-"))
    assert (errors, failures) == (0, 0), problems
    cols = re.search(r"S-OBS-COLS-1 .*?(\d+) custom", out)
    assert cols and int(cols.group(1)) >= 11, "taplint's OBS stage must see the QC columns"
