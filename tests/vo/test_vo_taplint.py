"""The IVOA validator, Debian's ``stilts taplint``, against the running service.

Stages run: every stage of taplint 3.4 except
- LOC (ObsLocTAP: we publish no observation plans, there is no ivoa.obsplan table) and
- EPN (EPN-TAP: a planetary-science data model; MUSE data is not EPN-TAP data).

Warnings: 29 before the examples page declared DALI 1.1's vocabulary (W-EXA-EXVC-1), 28
since. What remains is DaCHS 2.7's own doing: its TAP_SCHEMA lower-cases the SSA mixin's
column names (W-MDQ-CCAS) and leaves out the xtypes its results carry (W-MDQ-DRXT: mjd,
timestamp), it declares a custom ADQL feature (W-CAP-CULF) and the VOSI endpoints under
/__system__/ (W-CAP-CPUL), it writes arraysize="1" (W-UPL-YAR1); and one of ours by
design: each TAP interface twice, anonymous and with HTTP basic auth (W-CAP-CPI2: VOResource
1.1 allows one securityMethod per interface).
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
    errors, warnings, failures = (int(g) for g in totals.groups())
    problems = "\n".join(line for line in out.splitlines() if line[:2] in ("E-", "F-"))
    assert (errors, failures) == (0, 0), problems
    warned = [line for line in out.splitlines() if line.startswith("W-")]
    assert not [line for line in warned if line.startswith("W-EXA")], "\n".join(warned)
    assert warnings < 29, "\n".join(warned)
    cols = re.search(r"S-OBS-COLS-1 .*?(\d+) custom", out)
    assert cols and int(cols.group(1)) >= 11, "taplint's OBS stage must see the QC columns"
