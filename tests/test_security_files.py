"""Secrets on disk (issue #16, item 1), tried as a second Unix account: ``nobody`` cannot
read the embedded cluster's password nor list the folders that hold it, and ``musedc``
refuses to start, naming the file and the fix, when a secret is readable by others.
(DaCHS's profiles and gavo.rc: tests/vo/test_vo_security.py, on the real instance.)"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from support import free_port, open_tempdir

from qcservice.config import Settings, load_settings
from qcservice.db.cluster import EmbeddedCluster

pytestmark = pytest.mark.db   # initdb of clusters of their own


@pytest.fixture
def initialised(tmp_path: Path) -> Iterator[Settings]:
    """An embedded cluster created for real (initdb as the service user), not started."""
    home = open_tempdir("musedc-sec-") / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSEDC_")}
    settings = load_settings(env, home=str(home), pg_port=free_port())
    EmbeddedCluster(settings).init()
    yield settings
    shutil.rmtree(home.parent, ignore_errors=True)


def test_nobody_cannot_read_the_cluster_password(initialised, as_nobody):
    password = initialised.pg_dir / "password"
    assert password.read_text().strip()
    assert as_nobody("/usr/bin/test", "-x", str(initialised.pg_dir)).returncode == 0, \
        "the service user's path must stay open to pass through"
    refused = as_nobody("/bin/cat", str(password))
    assert refused.returncode != 0 and "Permission denied" in refused.stderr
    for folder in (initialised.home, initialised.pg_dir):
        listed = as_nobody("/bin/ls", str(folder))
        assert listed.returncode != 0 and "Permission denied" in listed.stderr, folder


def test_musedc_refuses_to_start_with_a_readable_secret(initialised):
    password = initialised.pg_dir / "password"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSEDC_")}
    env.update(MUSEDC_HOME=str(initialised.home), MUSEDC_PG_PORT=str(initialised.pg_port))
    musedc = [sys.executable, "-m", "qcservice"]
    password.chmod(0o644)
    refused = subprocess.run([*musedc, "db", "status"], env=env, capture_output=True,
                             text=True, check=False)
    assert refused.returncode != 0
    assert f"{password} (a secret) is mode 0644" in refused.stderr
    assert f"chmod 600 {password}" in refused.stderr
    assert "Traceback" not in refused.stderr
    password.chmod(0o600)
    ok = subprocess.run([*musedc, "db", "status"], env=env, capture_output=True, text=True,
                        check=False)
    assert "refusing to start" not in ok.stderr and "embedded PostgreSQL" in ok.stdout


def test_a_config_file_with_a_database_password_is_a_secret(initialised):
    config = initialised.home / "musedc.toml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSEDC_")}
    env.update(MUSEDC_HOME=str(initialised.home))
    config.write_text('checksum = false\n')
    config.chmod(0o644)
    musedc = [sys.executable, "-m", "qcservice", "db", "status"]
    fine = subprocess.run(musedc, env=env, capture_output=True, text=True, check=False)
    assert "refusing to start" not in fine.stderr
    config.write_text('database_url = "postgresql://qc:hunter22@db.example/qc"\n')
    refused = subprocess.run(musedc, env=env, capture_output=True, text=True, check=False)
    assert refused.returncode != 0 and f"chmod 600 {config}" in refused.stderr
