"""Configuration of the data centre: environment variables over an optional TOML file.

Every setting has an environment variable ``MUSEDC_<NAME>`` and a key ``<name>`` in the
TOML file (``MUSEDC_CONFIG``, default ``$MUSEDC_HOME/musedc.toml`` when it exists). The
environment wins over the file, the file over the defaults. Nothing is read at import
time: call :func:`load_settings` and pass the result down explicitly.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path


class ConfigError(RuntimeError):
    """A setting is missing, malformed or contradictory."""


def _default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "musedc"


@dataclass(frozen=True)
class Settings:
    """All settings of one data-centre instance.

    ``database_url`` empty means: run the embedded PostgreSQL cluster under
    ``home / "pg"`` on ``pg_port``.
    """

    home: Path = field(default_factory=_default_home)
    database_url: str = ""
    pg_port: int = 54329
    pg_bin: Path = Path("/usr/lib/postgresql/15/bin")
    service_user: str = "musedc"
    workers: int = 0
    proprietary_days: int = 365
    project: str = "GTO"
    checksum: bool = True

    @property
    def embedded(self) -> bool:
        """True when the project runs its own PostgreSQL cluster."""
        return not self.database_url

    @property
    def pg_dir(self) -> Path:
        return self.home / "pg"

    def effective_workers(self) -> int:
        """Worker processes for parallel work: the setting, or one per core."""
        return self.workers if self.workers > 0 else max(1, os.cpu_count() or 1)


HELP = {
    "home": "state directory: embedded database, logs, generated files",
    "database_url": "SQLAlchemy URL of an external PostgreSQL; empty runs the embedded one",
    "pg_port": "TCP port of the embedded PostgreSQL (loopback only)",
    "pg_bin": "directory of the PostgreSQL 15 server binaries (initdb, pg_ctl)",
    "service_user": "unprivileged system user that runs PostgreSQL when started as root",
    "workers": "worker processes for ingest and QC (0: one per core)",
    "proprietary_days": "days from the night to the release date when a file names none",
    "project": "project that ingested files belong to unless told otherwise",
    "checksum": "compute a SHA-256 of every ingested file (true/false)",
}


def _coerce(name: str, raw: object, kind: type) -> object:
    try:
        if kind is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if kind is Path:
            return Path(str(raw)).expanduser()
        return kind(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"setting {name!r}: cannot read {raw!r} as {kind.__name__}") from exc


def _field_types() -> dict[str, type]:
    hints = typing.get_type_hints(Settings)
    return {f.name: hints[f.name] for f in dataclasses.fields(Settings)}


def load_settings(env: dict[str, str] | None = None, **overrides: object) -> Settings:
    """Build :class:`Settings` from ``env`` (default ``os.environ``), the TOML file and
    keyword overrides (which win over both; ``None`` values are ignored)."""
    env = dict(os.environ if env is None else env)
    types = _field_types()
    values: dict[str, object] = {}

    home_raw = overrides.get("home") or env.get("MUSEDC_HOME")
    home = Path(str(home_raw)).expanduser() if home_raw else _default_home()
    config_path = env.get("MUSEDC_CONFIG")
    toml_file = Path(config_path) if config_path else home / "musedc.toml"
    if config_path and not toml_file.is_file():
        raise ConfigError(f"MUSEDC_CONFIG names {toml_file}, which does not exist")
    if toml_file.is_file():
        try:
            data = tomllib.loads(toml_file.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{toml_file}: not valid TOML: {exc}") from exc
        unknown = set(data) - set(types)
        if unknown:
            raise ConfigError(f"{toml_file}: unknown settings {sorted(unknown)}")
        values.update(data)

    for name in types:
        raw = env.get(f"MUSEDC_{name.upper()}")
        if raw is not None and raw != "":
            values[name] = raw
        elif raw == "" and name == "database_url":
            values[name] = ""
    values.update({k: v for k, v in overrides.items() if v is not None})
    values["home"] = home
    unknown = set(values) - set(types)
    if unknown:
        raise ConfigError(f"unknown settings {sorted(unknown)}")
    settings = Settings(**{k: _coerce(k, v, types[k]) for k, v in values.items()})
    if not 1 <= settings.pg_port <= 65535:
        raise ConfigError(f"setting 'pg_port': {settings.pg_port} is not a TCP port")
    return settings
