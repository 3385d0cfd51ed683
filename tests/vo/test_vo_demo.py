"""The README's demo, end to end with DaCHS: it publishes the simulated night and prints
the TAP URL and an example query that the running service answers."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support import free_port, open_tempdir


@pytest.mark.dachs   # with a PostgreSQL of its own: set by hand, no shared fixture
def test_demo_publishes_and_prints_tap_url_and_query() -> None:
    # a home and a PostgreSQL cluster of its own: DaCHS roles are cluster-wide, so this
    # DaCHS must not share a cluster with the session's
    home = open_tempdir("musedc-demo-vo-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MUSEDC_")}
    env.update(MUSEDC_HOME=str(home), MUSEDC_PG_PORT=str(free_port()))
    run = [sys.executable, "-m", "qcservice"]
    demo = [*run, "demo", "--scale", "tiny", "--nights", "1", "--vo-port", str(free_port()),
            "--viewer-port", "0", "--serve-for", "0"]
    try:
        proc = subprocess.run(demo, env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        out = proc.stdout
        assert re.search(r"ancillary data: registered .*a478hst-cutout\.fits", out)
        assert re.search(r"TAP service: http://localhost:\d+/tap", out)
        assert "SELECT TOP 10 obs_publisher_did" in out and "FROM ivoa.obscore" in out
        assert "answered: HTTP 200" in out
        published = re.search(r"published (\d+) cubes and images", out)
        assert published and int(published.group(1)) >= 2   # a cube and its image at least
        assert re.search(r"QA viewer: http://127\.0\.0\.1:\d+  \(HTTP 200\)", out)
        subprocess.run([*run, "vo", "stop"], env=env, capture_output=True, timeout=120)
        # the same command again on the same home: nothing new, DaCHS re-initialised;
        # serving until a service manager's SIGTERM, which stops its DaCHS too (#16)
        serving = subprocess.Popen(demo[:-2], env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        lines = []
        for line in serving.stdout:
            lines.append(line)
            if line.startswith("Serving;"):
                break
        dachs = int((home / "vo" / "state" / "musedc-serve.pid").read_text())
        os.kill(dachs, 0)
        serving.send_signal(signal.SIGTERM)
        rest, err = serving.communicate(timeout=120)
        again = "".join(lines) + rest
        assert serving.returncode == 128 + signal.SIGTERM, again[-3000:] + err[-3000:]
        assert "0 new" in again and "answered: HTTP 200" in again
        assert re.search(r"ancillary data: unchanged .*a478hst-cutout\.fits", again)
        assert f"published {published.group(1)} cubes" in again
        assert not Path(f"/proc/{dachs}").exists(), "the demo's DaCHS outlived SIGTERM"
    finally:
        subprocess.run([*run, "vo", "stop"], env=env, capture_output=True, timeout=120)
        subprocess.run([*run, "db", "stop"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(home, ignore_errors=True)
