"""The README's main command, end to end on a tiny night (against this test's database)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text

from qcservice.cli import main


@pytest.mark.slow
def test_demo_simulates_ingests_and_reruns_idempotently(cli_env: dict, tmp_path: Path) -> None:
    args = ["demo", "--scale", "tiny", "--data", str(tmp_path / "demo"),
            "--start-night", "2024-03-09", "--nights", "1", "--no-vo", "--viewer-port", "0",
            "--serve-for", "0"]
    runner = CliRunner()
    first = runner.invoke(main, args, env=cli_env)
    assert first.exit_code == 0, first.output
    assert "2024-03-09" in first.output and "MASTER_BIAS 24" in first.output
    assert "2014-12-07" in first.output            # the real cube of mpdaf
    assert "refused" in first.output               # the deliberately broken frame
    assert "Fail    DATACUBE_FINAL_2.fits: BAD_SKY_SUB" in first.output
    assert "Check   MUSE." in first.output and "1 of 24 IFUs flagged" in first.output
    assert re.search(r"QA viewer: http://127\.0\.0\.1:\d+  \(HTTP 200\)", first.output)
    assert re.search(r"login: demo / \S{8,}", first.output)
    assert re.search(r"review queue .*: http://127\.0\.0\.1:\d+/qa", first.output)
    assert re.search(r"trends over the nights: http://\S+/trends\?metric=", first.output)
    engine = create_engine(cli_env["MUSEDC_DATABASE_URL"])
    with engine.connect() as conn:
        n_files = conn.execute(text("SELECT count(*) FROM qc.files")).scalar()
    assert n_files > 100

    second = runner.invoke(main, args, env=cli_env)
    assert second.exit_code == 0, second.output
    assert "reusing" in second.output and "0 new, 0 updated" in second.output
    assert "0 checked" in second.output
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM qc.files")).scalar() == n_files
    engine.dispose()
