"""One date parser: every command's date option refuses a bad date the same way (naming the
option and the value, before touching the database); the viewer ignores a bad one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from qcservice.cli import main
from qcservice.dates import parse_date, query_date


def test_parse_and_query_date() -> None:
    assert parse_date("2014-12-07") == dt.date(2014, 12, 7)
    assert parse_date(None) is None
    with pytest.raises(ValueError, match=r"'2014-13-01' is not a date \(YYYY-MM-DD\)"):
        parse_date("2014-13-01")
    with pytest.raises(ValueError, match="is not a date"):
        parse_date("")
    assert query_date("2014-12-07") == dt.date(2014, 12, 7)
    assert [query_date(v) for v in (None, "", "yesterday", "2014-02-30")] == [None] * 4


@pytest.mark.parametrize("args", [
    ["qc", "run", "--night", "2014-13-01"],
    ["qc", "run", "--since", "2014-13-01"],
    ["reduce", "--night", "2014-13-01"],
    ["reduce", "runs", "--night", "2014-13-01"],
    ["storage", "--as-of", "2014-13-01"],
    ["storage", "--start", "2014-13-01"],
    ["ancillary", "add", "x.fits", "--collection", "C", "--release", "2014-13-01"],
    ["simulate", "OUT", "--start-night", "2014-13-01"],
])
def test_every_date_option_refuses_a_bad_date(args: list[str], tmp_path: Path) -> None:
    env = {"MUSEDC_HOME": str(tmp_path / "home"),
           "MUSEDC_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    args = [str(tmp_path / "out") if a == "OUT" else a for a in args]
    result = CliRunner().invoke(main, args, env=env)
    option = args[-2]
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}'" in result.output
    assert "'2014-13-01' is not a date (YYYY-MM-DD)" in result.output
    assert not (tmp_path / "out").exists()
