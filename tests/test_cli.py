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
