"""Settings: environment over TOML file over defaults, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from qcservice.config import ConfigError, load_settings


def test_defaults_are_embedded_and_not_5432(tmp_path: Path) -> None:
    s = load_settings({"MUSEDC_HOME": str(tmp_path)})
    assert s.embedded and s.pg_port != 5432
    assert s.pg_dir == tmp_path / "pg"
    assert s.checksum is True and s.proprietary_days == 365


def test_environment_wins_over_toml(tmp_path: Path) -> None:
    (tmp_path / "musedc.toml").write_text('pg_port = 6000\nproject = "GTO-DRYRUN"\n'
                                          'checksum = false\n')
    s = load_settings({"MUSEDC_HOME": str(tmp_path), "MUSEDC_PG_PORT": "6100"})
    assert s.pg_port == 6100
    assert s.project == "GTO-DRYRUN" and s.checksum is False


def test_external_database(tmp_path: Path) -> None:
    s = load_settings({"MUSEDC_HOME": str(tmp_path),
                       "MUSEDC_DATABASE_URL": "postgresql://u:p@db.example/qc"})
    assert not s.embedded


@pytest.mark.parametrize("env, message", [
    ({"MUSEDC_PG_PORT": "many"}, "pg_port"),
    ({"MUSEDC_PG_PORT": "70000"}, "not a TCP port"),
    ({"MUSEDC_CHECKSUM": "perhaps"}, "checksum"),
])
def test_bad_values_are_named(tmp_path: Path, env: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings({"MUSEDC_HOME": str(tmp_path), **env})


def test_bad_toml_is_named(tmp_path: Path) -> None:
    (tmp_path / "musedc.toml").write_text("pg_prot = 1\n")
    with pytest.raises(ConfigError, match=r"unknown settings \['pg_prot'\]"):
        load_settings({"MUSEDC_HOME": str(tmp_path)})
    (tmp_path / "musedc.toml").write_text("pg_port = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings({"MUSEDC_HOME": str(tmp_path)})
