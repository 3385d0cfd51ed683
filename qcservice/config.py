"""Configuration of the data centre: environment variables over an optional TOML file.

One :class:`Settings` holds every setting, in sections: the database and state (top-level
keys), ``viewer``, ``vo`` and the state ``paths`` derived from ``home``. Every setting has an
environment variable (``MUSEDC_<NAME>`` for the top-level ones; each section field names its
own) and a key in the TOML file (``MUSEDC_CONFIG``, default ``$MUSEDC_HOME/musedc.toml`` when
it exists): ``pg_port = 6000`` at the top, ``port = 8091`` under ``[vo]``. The environment
wins over the file, the file over the defaults. This module is the only one that reads the
process environment, and nothing is read at import time: call :func:`load_settings` once and
pass the result down explicitly.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path

from qcservice.errors import MusedcError
from qcservice.vocabulary import PASSED_STATES


class ConfigError(MusedcError, RuntimeError):
    """A setting is missing, malformed or contradictory."""


def _default_home() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "musedc"


DEFAULT_VO_URL = "http://127.0.0.1:8090/"
DEFAULT_VIEWER_URL = "http://localhost:8080"      # `musedc viewer serve`'s default


def environment() -> dict[str, str]:
    """A copy of the process environment: what child processes inherit."""
    return dict(os.environ)


def _env(name: str, default: object, help: str) -> typing.Any:
    """A section field: its environment variable and help line."""
    return field(default=default, metadata={"env": name, "help": help})


@dataclass(frozen=True)
class ViewerSettings:
    """The QA viewer (``[viewer]``)."""

    vo_url: str = _env("MUSEDC_VO_URL", "", "base URL of the VO services, TAP at <url>tap "
                       "(default http://127.0.0.1:8090/; production: required)")
    public_url: str = _env("MUSEDC_VIEWER_URL", "", "public base URL of the QA viewer, for "
                           "download scripts and DataLink #auxiliary (production: required)")
    datalink: str = _env("MUSEDC_VO_DATALINK", "{vo}muse/q/dl/dlmeta?ID={pubdid}",
                         "DataLink URL template of a product ({vo}, {file_id}, {filename}, "
                         "{pubdid})")
    archive_max_bytes: int = _env("MUSEDC_ARCHIVE_MAX_BYTES", 0,
                                  "largest tar archive streamed (0: 2 GB)")
    files_by_proxy: bool = _env("MUSEDC_FILES_BY_PROXY", False,
                                "the reverse proxy sends the files (X-Accel-Redirect)")
    proxies: str = _env("MUSEDC_VIEWER_PROXIES", "1", "reverse proxies before the "
                        "production viewer, 0 to 5")
    debug: str = _env("FLASK_DEBUG", "", "Flask's debug mode (refused in production)")


@dataclass(frozen=True)
class VOSettings:
    """The VO services, DaCHS (``[vo]``); qcservice.vo.config.VOConfig builds on it."""

    port: int = _env("MUSEDC_VO_PORT", 8090, "TCP port of the DaCHS server")
    bind: str = _env("MUSEDC_VO_BIND", "127.0.0.1", "address DaCHS listens on")
    server_url: str = _env("MUSEDC_VO_SERVER_URL", "",
                           "public base URL of DaCHS (default http://localhost:PORT)")
    # .invalid: clearly local values until the operator registers the site
    authority: str = _env("MUSEDC_VO_AUTHORITY", "musedc.invalid",
                          "IVOA authority of the data centre (.invalid: not registered)")
    publishable: tuple[str, ...] = _env("MUSEDC_VO_PUBLISHABLE", PASSED_STATES,
                                        "QA states that reach ObsCore, comma-separated")
    contact_email: str = _env("MUSEDC_VO_CONTACT_EMAIL", "vo-admin@musedc.invalid",
                              "contact e-mail of the VO services in registry records")
    contact_name: str = _env("MUSEDC_VO_CONTACT_NAME",
                             "MUSE GTO data centre (local installation)",
                             "contact name in registry records")
    publisher: str = _env("MUSEDC_VO_PUBLISHER", "MUSE GTO consortium data centre",
                          "publisher (organisation) in registry records")
    site_title: str = _env("MUSEDC_VO_SITE_TITLE", "MUSE GTO data centre",
                           "title of the site (root page, registry records)")
    site_description: str = _env(
        "MUSEDC_VO_SITE_DESCRIPTION", "Quality-controlled MUSE GTO data products (cubes, "
        "images, spectra) with their QC results.", "description of the site")
    proxies: int = _env("MUSEDC_VO_PROXIES", 0, "reverse proxies before DaCHS and the gate "
                        "(their client address is trusted)")


class Paths:
    """Where the state lives, all under ``home``: the one list of its places."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.pg = home / "pg"                       # the embedded PostgreSQL cluster
        self.vo = home / "vo"                       # the DaCHS instance (rootDir)
        self.qc_images = home / "qc-images"         # QC images and plots
        self.demo = home / "demo"                   # the demo's simulated nights
        self.reduced = home / "reduced"             # pipeline reductions
        self.viewer_demo_password = home / "viewer-demo-password"
        self.toml = home / "musedc.toml"


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
    viewer: ViewerSettings = field(default_factory=ViewerSettings)
    vo: VOSettings = field(default_factory=VOSettings)

    @property
    def embedded(self) -> bool:
        """True when the project runs its own PostgreSQL cluster."""
        return not self.database_url

    @property
    def paths(self) -> Paths:
        return Paths(self.home)

    @property
    def pg_dir(self) -> Path:
        return self.paths.pg

    def effective_workers(self) -> int:
        """Worker processes for parallel work: the setting, or one per core."""
        return self.workers if self.workers > 0 else max(1, os.cpu_count() or 1)


SECTIONS: dict[str, type] = {"viewer": ViewerSettings, "vo": VOSettings}

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


def section_help(section: type) -> dict[str, str]:
    """Environment variable -> help line of every field of a section."""
    return {f.metadata["env"]: f.metadata["help"] for f in dataclasses.fields(section)}


def _coerce(name: str, raw: object, kind: object) -> object:
    try:
        if kind is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off", ""):
                return False
            raise ValueError(text)
        if kind is Path:
            return Path(str(raw)).expanduser()
        if typing.get_origin(kind) is tuple:
            items = raw.split(",") if isinstance(raw, str) else list(raw)  # type: ignore[attr-defined]
            return tuple(str(s).strip() for s in items if str(s).strip())
        return kind(raw)  # type: ignore[operator]
    except (TypeError, ValueError) as exc:
        kind_name = getattr(kind, "__name__", str(kind))
        raise ConfigError(f"setting {name!r}: cannot read {raw!r} as {kind_name}") from exc


def _field_types(cls: type) -> dict[str, object]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def section_from(section: typing.Any, env: typing.Mapping[str, str],
                 toml: dict | None = None) -> typing.Any:
    """``section`` (an instance) with the TOML table ``toml`` and then ``env`` over it."""
    types = _field_types(type(section))
    values: dict[str, object] = dict(toml or {})
    unknown = set(values) - set(types)
    if unknown:
        raise ConfigError(f"unknown settings {sorted(unknown)} in [{_section_name(section)}]")
    for f in dataclasses.fields(section):
        if env.get(f.metadata["env"]):
            values[f.name] = env[f.metadata["env"]]
    env_names = {f.name: f.metadata["env"] for f in dataclasses.fields(section)}
    coerced = {}
    for name, raw in values.items():
        try:
            coerced[name] = _coerce(name, raw, types[name])
        except ConfigError as exc:
            raise ConfigError(f"{env_names[name]}={raw!r}: {exc}") from exc
    return dataclasses.replace(section, **coerced)


def _section_name(section: object) -> str:
    return next(k for k, v in SECTIONS.items() if isinstance(section, v))


def _read_toml(toml_file: Path) -> dict:
    try:
        data = tomllib.loads(toml_file.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{toml_file}: not valid TOML: {exc}") from exc
    unknown = set(data) - set(_field_types(Settings))
    if unknown:
        raise ConfigError(f"{toml_file}: unknown settings {sorted(unknown)}")
    return data


def load_settings(env: typing.Mapping[str, str] | None = None,
                  **overrides: object) -> Settings:
    """Build :class:`Settings` from ``env`` (default ``os.environ``), the TOML file and
    keyword overrides (which win over both; ``None`` values are ignored)."""
    env = dict(os.environ if env is None else env)
    types = _field_types(Settings)
    values: dict[str, object] = {}

    home_raw = overrides.get("home") or env.get("MUSEDC_HOME")
    home = Path(str(home_raw)).expanduser() if home_raw else _default_home()
    config_path = env.get("MUSEDC_CONFIG")
    toml_file = Path(config_path) if config_path else Paths(home).toml
    if config_path and not toml_file.is_file():
        raise ConfigError(f"MUSEDC_CONFIG names {toml_file}, which does not exist")
    if toml_file.is_file():
        values.update(_read_toml(toml_file))

    for name in set(types) - set(SECTIONS):
        raw = env.get(f"MUSEDC_{name.upper()}")
        if raw is not None and raw != "":
            values[name] = raw
        elif raw == "" and name == "database_url":
            values[name] = ""
    for name, cls in SECTIONS.items():
        table = values.get(name, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{toml_file}: {name} must be a table ([{name}])")
        values[name] = section_from(cls(), env, table)
    values.update({k: v for k, v in overrides.items() if v is not None})
    values["home"] = home
    unknown = set(values) - set(types)
    if unknown:
        raise ConfigError(f"unknown settings {sorted(unknown)}")
    settings = Settings(**{k: v if k in SECTIONS else _coerce(k, v, types[k])
                           for k, v in values.items()})
    if not 1 <= settings.pg_port <= 65535:
        raise ConfigError(f"setting 'pg_port': {settings.pg_port} is not a TCP port")
    return settings
