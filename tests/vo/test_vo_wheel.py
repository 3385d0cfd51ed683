"""The package as a wheel works on its own: ``musedc vo init`` from an installed wheel finds
the DaCHS instance template, the launcher and the RDs inside the package (they used to be
found beside the source tree, which an installed wheel does not have).

The wheel is built from this tree (hatchling, without build isolation: no network) and
installed without its dependencies into a scratch virtual environment; a ``.pth`` line
there appends the project environment's site-packages, for the dependencies only (a plain
path line: the editable install's own ``.pth`` is not processed from there), so the
``qcservice`` imported is the wheel's, which the test checks."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import free_port, open_tempdir

from qcservice.config import load_settings
from qcservice.db.cluster import EmbeddedCluster

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _run(*args: str | Path, **kwargs) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True,
                          timeout=600, check=False, **kwargs)
    assert proc.returncode == 0, f"{args}: {proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc


@pytest.fixture
def wheel_env(tmp_path: Path) -> Path:
    """A scratch venv holding only the wheel of this tree; returns its bin/."""
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "--quiet", "-w", tmp_path / "dist", REPO)
    wheel = next((tmp_path / "dist").glob("musedc-*.whl"))
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    purelib = Path(_run(venv / "bin" / "python", "-c",
                        "import sysconfig; print(sysconfig.get_paths()['purelib'])"
                        ).stdout.strip())
    (purelib / "project_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    _run(sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install",
         "--quiet", "--no-deps", "--no-index", wheel)
    return venv / "bin"


@pytest.fixture
def env() -> Iterator[dict[str, str]]:
    """The environment of a data centre of its own: $MUSEDC_HOME, which DaCHS's service
    user may enter (when we are root), and an embedded PostgreSQL of its own ('dachs init'
    sets the passwords of cluster-wide roles: on the session's cluster it would lock out
    the other VO tests' DaCHS). The wheel's musedc creates and migrates it."""
    path = open_tempdir("musedc-wheel-")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MUSEDC_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(MUSEDC_HOME=str(path), MUSEDC_PG_PORT=str(free_port()))
    yield env
    EmbeddedCluster(load_settings(env)).stop()
    shutil.rmtree(path, ignore_errors=True)


def test_installed_wheel_runs_vo_init(wheel_env: Path, env: dict[str, str], tmp_path: Path):
    where = _run(wheel_env / "python", "-c", "import qcservice; print(qcservice.__file__)",
                 cwd=tmp_path, env=env).stdout.strip()
    assert Path(where).is_relative_to(wheel_env.parent), where
    _run(wheel_env / "musedc", "vo", "init", "--port", str(free_port()), cwd=tmp_path, env=env)
    root = Path(env["MUSEDC_HOME"]) / "vo"
    assert (root / "state" / "musedc-initialised").is_file()
    for made in ("gavo.rc", "etc/userconfig.rd", "etc/defaultmeta.txt",
                 "web/templates/examples.html", "inputs/muse/q.rd", "inputs/muse/ssa.rd",
                 "inputs/muse/res/cutout.py"):
        assert (root / made).is_file(), made
    assert "@OBSCORE_COLUMNS@" not in (root / "etc" / "userconfig.rd").read_text()
