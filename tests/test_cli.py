"""The musedc command: every subcommand explains itself, and the catalogue summary."""

from __future__ import annotations

import shutil
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from qcservice.cli import main


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in group.commands.items():
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found.extend(_commands(command, (*prefix, name)))
    return found


@pytest.mark.parametrize("words", [(), *_commands(main)], ids=lambda w: " ".join(w) or "musedc")
def test_every_command_has_help(words: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*words, "--help"], prog_name="musedc")
    assert result.exit_code == 0, result.output
    assert "Usage: musedc" in result.output
    body = result.output.split("\n\n", 2)[1].strip()
    assert len(body) > 20, f"'{' '.join(words)}' needs a real help text"


def test_expected_subcommands_exist() -> None:
    names = set(main.commands)
    assert {"db", "ingest", "simulate", "demo", "nights"} <= names
    assert {"start", "stop", "status", "migrate"} <= set(main.commands["db"].commands)


def test_nights_summary(cli_env: dict, minicube: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    empty = runner.invoke(main, ["nights"], env=cli_env)
    assert "catalogue is empty" in empty.output
    shutil.copy(minicube, tmp_path / "cube.fits")
    assert runner.invoke(main, ["ingest", str(tmp_path)], env=cli_env).exit_code == 0
    result = runner.invoke(main, ["nights", "--mode", "WFM-NOAO-N"], env=cli_env)
    assert "2014-12-07" in result.output and "DATACUBE_FINAL 1" in result.output
    other = runner.invoke(main, ["nights", "--mode", "NFM-AO-N"], env=cli_env)
    assert "catalogue is empty" in other.output


def test_bad_setting_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["nights"], env={"MUSEDC_HOME": str(tmp_path),
                                                        "MUSEDC_PG_PORT": "lots"})
    assert result.exit_code == 1 and "pg_port" in result.output


def test_every_own_error_is_one_line_at_the_top(cli_env: dict, tmp_path: Path) -> None:
    """Errors of three areas (users, QC thresholds, the database) reach the top-level
    command, which alone turns them into a line naming the problem and exit status 1."""
    runner = CliRunner()
    bad = tmp_path / "limits.toml"
    bad.write_text("this is = not toml =\n")
    for words, expected in ((["users", "passwd", "nobody", "--password-stdin"],
                             "no user 'nobody'"),
                            (["qc", "thresholds", str(bad)], f"{bad}:"),
                            (["users", "group", "add", "nobody", "GTO"], "no ")):
        result = runner.invoke(main, words, env=cli_env, input="long enough password\n")
        assert result.exit_code == 1, (words, result.output)
        assert result.output.startswith("Error: ") and expected in result.output, result.output
        assert "Traceback" not in result.output


def test_the_data_centre_errors_share_one_base() -> None:
    from qcservice.ancillary.footprint import FootprintError
    from qcservice.ancillary.reader import AncillaryError
    from qcservice.config import ConfigError
    from qcservice.db.cluster import ClusterError
    from qcservice.db.engine import SchemaOutdated
    from qcservice.db.migrate import MigrationError
    from qcservice.delivery.archive import ArchiveError
    from qcservice.download.tap import DownloadError
    from qcservice.errors import MusedcError
    from qcservice.fits.header import FitsFormatError
    from qcservice.ingest.classify import Rejected
    from qcservice.qc.thresholds import ThresholdError
    from qcservice.reduce.esorex import EsorexMissing
    from qcservice.reduce.oca import OcaError
    from qcservice.users import UserError
    from qcservice.vo.instance import VOError

    for error in (FootprintError, AncillaryError, ConfigError, ClusterError, SchemaOutdated,
                  MigrationError, ArchiveError, DownloadError, Rejected, FitsFormatError,
                  ThresholdError, EsorexMissing, OcaError, UserError, VOError):
        assert issubclass(error, MusedcError), error


@pytest.mark.parametrize("module", ["users", "storage", "nights", "config", "errors", "dates"])
def test_domain_modules_import_no_click(module: str) -> None:
    """The command line lives in each area's *_cli module; the domain is importable and
    usable without it (the viewer, the gate and the tests call it directly)."""
    import ast
    import importlib

    source = Path(importlib.import_module(f"qcservice.{module}").__file__).read_text()
    imported = {alias.name.split(".")[0] for node in ast.walk(ast.parse(source))
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(ast.parse(source))
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert "click" not in imported
