"""Every metric name the code, its templates and the threshold files use is declared once:
computed metrics in qcservice/metricnames.py, harvested pipeline keywords in the ESO QC
dictionary (ingest/qc_units.tsv)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import qcservice
from qcservice import metricnames
from qcservice.ingest.qcdict import dictionary_units
from qcservice.qc.thresholds import default_files, read_file

PACKAGE = Path(qcservice.__file__).parent
TASKS = sorted({name.split(".")[0] for name in metricnames.COMPUTED})
# a metric name as a whole string, an SQL literal, an HTML attribute or a URL's argument
NAME = rf"(?:{'|'.join(TASKS)})\.[a-z_0-9]*[a-z0-9]"
QUOTED = re.compile(rf"(?<=['\"|=]){NAME}(?=['\"|&])")
# strings of that shape that are no metric: the viewer's cube page (endpoint, template)
NOT_METRICS = {"cube.cube", "cube.html"}


def _names_in(text: str) -> set[str]:
    whole = {text} if re.fullmatch(NAME, text) else set()
    return (whole | set(QUOTED.findall(text))) - NOT_METRICS


def _python_strings(path: Path) -> tuple[set[str], set[str]]:
    """(every metric-like name in the module's string literals, the literal first
    arguments of Metric(...))"""
    tree = ast.parse(path.read_text(), str(path))
    found, constructed = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found |= _names_in(node.value)
        if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Metric"
                and node.args and isinstance(node.args[0], ast.Constant)):
            constructed.add(node.args[0].value)
    return found, constructed


def test_threshold_files_name_only_declared_metrics() -> None:
    harvested = dictionary_units()
    for path in default_files():
        for t in read_file(path):
            assert t.metric in metricnames.COMPUTED or t.metric in harvested, \
                f"{path.name}: metric {t.metric!r} is declared nowhere"


def test_code_and_templates_use_only_declared_metrics() -> None:
    used: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        if path.name == "metricnames.py":
            continue
        found, constructed = _python_strings(path)
        for name in found | constructed:
            used.setdefault(name, set()).add(str(path.relative_to(PACKAGE)))
    for path in [*PACKAGE.glob("viewer/templates/*.html"), *PACKAGE.glob("viewer/static/*.js")]:
        for name in _names_in(path.read_text()):
            used.setdefault(name, set()).add(str(path.relative_to(PACKAGE)))
    undeclared = {n: sorted(where) for n, where in used.items() if n not in metricnames.COMPUTED}
    assert not undeclared
    # the scan sees what it should: names as strings, SQL literals, attributes, URLs
    assert {"psf.fwhm", "sky.residual_spectrum"} <= set(used)     # cube QC, cube page
    assert _names_in("psf.star_x") == {"psf.star_x"}
    assert _names_in("AND m.name = 'psf.fwhn' LIMIT 1") == {"psf.fwhn"}
    assert _names_in('data-curves="psf.drift_dx|psf.drift_dy"') == {"psf.drift_dx",
                                                                     "psf.drift_dy"}
    assert _names_in("/trends?metric=bias.ron_e&type=BIAS") == {"bias.ron_e"}
    assert _names_in("JOIN qc.products cube ON cube.file_id = x") == set()


def test_the_declaration_is_unambiguous() -> None:
    values = [v for k, v in vars(metricnames).items() if k.isupper() and isinstance(v, str)]
    assert len(values) == len(set(values)) == len(metricnames.COMPUTED) >= 40
    assert all(re.fullmatch(r"[a-z_]+\.[a-z_0-9]+", v) for v in values)
