"""Every package the code imports is installed by the runtime set-up (`scripts/setup.sh
--runtime`, the production image): a declared dependency of the project or one of theirs,
never a test extra only. (The simulator once imported mpdaf, then a test extra, and the
production image's simulator failed.) The code DaCHS runs (the launcher and the RDs' Python)
runs under Debian's python3: what it imports must be importable there."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import qcservice
from qcservice.vo.instance import RESOURCES_DIR, SYSTEM_PYTHON, TEMPLATE_DIR

PACKAGE = Path(qcservice.__file__).parent
DACHS_SIDE = (TEMPLATE_DIR, RESOURCES_DIR)


def _dachs_side(path: Path) -> bool:
    return any(path.is_relative_to(d) for d in DACHS_SIDE)


def _imported_top_names(dachs_side: bool = False) -> dict[str, str]:
    """Top-level module name -> one file importing it, over the package's code (or only
    over the code DaCHS runs)."""
    found: dict[str, str] = {}
    for path in PACKAGE.rglob("*.py"):
        if _dachs_side(path) != dachs_side:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], str(path.relative_to(PACKAGE)))
    return found


def _requirement_name(spec: str) -> str | None:
    """The distribution a requirement names, None when it applies only to an extra."""
    if "extra ==" in spec:
        return None
    return re.split(r"[\s;<>=!~\[(]", spec, maxsplit=1)[0].lower().replace("_", "-")


def _runtime_closure() -> set[str]:
    todo = [_requirement_name(r) for r in metadata.requires("musedc") or []]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if not name or name in seen:
            continue
        seen.add(name)
        try:
            todo += [_requirement_name(r) for r in metadata.requires(name) or []]
        except metadata.PackageNotFoundError:
            continue
    return seen


def test_every_import_is_a_runtime_dependency() -> None:
    runtime = _runtime_closure()
    providers = metadata.packages_distributions()
    missing = []
    for name, where in sorted(_imported_top_names().items()):
        if name in sys.stdlib_module_names or name in ("qcservice", "__future__"):
            continue
        dists = {d.lower().replace("_", "-") for d in providers.get(name, [])}
        if not dists & runtime:
            missing.append(f"{name} (imported by {where}; from {sorted(dists) or '?'})")
    assert not missing, "imported but not installed at run time: " + "; ".join(missing)


def test_the_dachs_side_imports_what_debians_python_has() -> None:
    names = sorted(_imported_top_names(dachs_side=True))
    assert "gavo" in names, names   # the scan sees the DaCHS side at all
    probe = ("import importlib.util, sys; "
             "print(' '.join(n for n in sys.argv[1:] if importlib.util.find_spec(n) is None))")
    out = subprocess.run([SYSTEM_PYTHON, "-c", probe, *names], capture_output=True, text=True,
                         check=True, cwd="/")
    assert not out.stdout.split(), f"not importable by {SYSTEM_PYTHON}: {out.stdout.strip()}"
