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


def test_sections_from_toml_or_environment_alike(tmp_path: Path) -> None:
    from qcservice.vo.config import load_vo_config

    (tmp_path / "musedc.toml").write_text(
        'project = "GTO"\n[vo]\nport = 8191\npublishable = ["Pass"]\n'
        '[viewer]\nvo_url = "https://vo.example.org/"\nfiles_by_proxy = true\n')
    s = load_settings({"MUSEDC_HOME": str(tmp_path), "MUSEDC_VO_AUTHORITY": "example.org"})
    assert s.vo.port == 8191 and s.vo.publishable == ("Pass",)
    assert s.vo.authority == "example.org"
    assert s.viewer.vo_url == "https://vo.example.org/" and s.viewer.files_by_proxy is True
    vo = load_vo_config(s)   # the section as loaded, nothing read again
    assert vo.port == 8191 and vo.root == tmp_path / "vo" == s.paths.vo
    s = load_settings({"MUSEDC_HOME": str(tmp_path), "MUSEDC_VO_PORT": "8192"})
    assert s.vo.port == 8192   # the environment wins over the file


@pytest.mark.parametrize("toml, message", [
    ("[vo]\nprot = 1\n", r"unknown settings \['prot'\] in \[vo\]"),
    ("[vo]\nport = \"many\"\n", "MUSEDC_VO_PORT='many'"),
    ("vo = 3\n", r"vo must be a table"),
])
def test_bad_sections_are_named(tmp_path: Path, toml: str, message: str) -> None:
    (tmp_path / "musedc.toml").write_text(toml)
    with pytest.raises(ConfigError, match=message):
        load_settings({"MUSEDC_HOME": str(tmp_path)})


def test_settings_are_read_in_config_only() -> None:
    """No module but config reads a setting from the process environment (copying the
    whole environment for a child process is fine: that passes it on). The code DaCHS runs
    under Debian's python3 (launcher, RDs) cannot import our configuration: not counted."""
    import re

    import qcservice
    from qcservice.vo.instance import RESOURCES_DIR, TEMPLATE_DIR

    package = Path(qcservice.__file__).parent
    reads = re.compile(r"os\.environ\s*(\.get\(|\[)|os\.getenv\(|environ\.get\(")
    found = [f"{path.relative_to(package)}:{n}" for path in package.rglob("*.py")
             if path.name != "config.py" and not path.is_relative_to(TEMPLATE_DIR)
             and not path.is_relative_to(RESOURCES_DIR)
             for n, line in enumerate(path.read_text().splitlines(), 1) if reads.search(line)]
    assert found == []
