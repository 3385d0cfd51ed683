"""Units of the pipeline's QC keywords from the official ESO dictionary.

ESO writes a QC keyword's unit at the start of its comment (``[Angstrom] RMS of ...``);
a long comment can be cut before the closing bracket, and some keywords have none. The
MUSE QC dictionary that Debian's cpl-plugin-muse ships (``dic/ESO-DFS-DIC.MUSE_QC``: 255
parameters with type, unit and meaning) says it once; ``qc_units.tsv`` in this package is
derived from it (``python -m qcservice.ingest.qcdict > qcservice/ingest/qc_units.tsv``,
checked against the installed dictionary by tests/test_ingest_units.py), so a runtime
image without the pipeline has the units too.
"""

from __future__ import annotations

import glob
import re
import sys
from functools import cache
from importlib import resources
from pathlib import Path

DICTIONARY_GLOB = "/usr/share/cpl-plugins/muse-*/dic/ESO-DFS-DIC.MUSE_QC"
_FIELD = re.compile(r"^(Parameter Name|Unit):\s*(.*?)\s*$")


def installed_dictionary() -> Path | None:
    """The newest MUSE QC dictionary of an installed cpl-plugin-muse, or None."""
    found = sorted(glob.glob(DICTIONARY_GLOB))
    return Path(found[-1]) if found else None


def parse_units(text: str) -> dict[str, str]:
    """{parameter name: unit} of a dictionary's text, for the parameters with a unit."""
    units: dict[str, str] = {}
    name = None
    for line in text.splitlines():
        match = _FIELD.match(line)
        if not match:
            continue
        if match.group(1) == "Parameter Name":
            name = match.group(2)
        elif name and match.group(2):
            units[name] = match.group(2)
            name = None
    return units


@cache
def dictionary_units() -> dict[str, str]:
    """{metric name as harvested (``QC BIAS MASTERi RON``): unit}, from qc_units.tsv."""
    table = resources.files("qcservice.ingest") / "qc_units.tsv"
    rows = (line.split("\t") for line in table.read_text().splitlines() if line)
    return {name: unit for name, unit in rows}


if __name__ == "__main__":
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else installed_dictionary()
    if source is None:
        sys.exit(f"no dictionary: install cpl-plugin-muse or name one ({DICTIONARY_GLOB})")
    for key, value in sorted(parse_units(source.read_text()).items()):
        print(f"{key}\t{value}")
