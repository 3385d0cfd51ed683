"""The VO services' configuration: the ``vo`` section of :class:`qcservice.config.Settings`
(environment ``MUSEDC_VO_*`` or ``[vo]`` in the TOML file) with the instance it serves.

The DaCHS instance sits under ``$MUSEDC_HOME/vo`` and uses the same PostgreSQL database as
the qc schema.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from qcservice.config import (
    DEFAULT_VIEWER_URL,
    ConfigError,
    Settings,
    VOSettings,
    section_from,
    section_help,
)
from qcservice.vocabulary import QA_STATES

DEFAULT_PORT = VOSettings.port
DEFAULT_PUBLISHABLE = VOSettings.publishable

HELP = section_help(VOSettings)


@dataclass(frozen=True, kw_only=True)
class VOConfig(VOSettings):
    """Where and how the DaCHS instance runs: the VO section for one instance."""

    settings: Settings
    viewer_url: str = DEFAULT_VIEWER_URL   # for DataLink #auxiliary links

    def __post_init__(self) -> None:
        unknown = [s for s in self.publishable if s not in QA_STATES]
        if unknown or not self.publishable:
            raise ConfigError(f"MUSEDC_VO_PUBLISHABLE: {','.join(self.publishable)!r}: "
                              f"QA states are {QA_STATES}")

    @property
    def root(self) -> Path:
        """DaCHS's rootDir."""
        return self.settings.paths.vo

    @property
    def url(self) -> str:
        """Base URL of the server, no trailing slash."""
        return (self.server_url or f"http://localhost:{self.port}").rstrip("/")

    @property
    def local_url(self) -> str:
        """Where this machine reaches the server directly (health checks): its bind
        address and port, not the public URL, which may be a proxy's."""
        host = "127.0.0.1" if self.bind in ("0.0.0.0", "") else self.bind
        host = "[::1]" if host == "::" else (f"[{host}]" if ":" in host else host)
        return f"http://{host}:{self.port}"

    @property
    def tap_url(self) -> str:
        return f"{self.url}/tap"


def load_vo_config(settings: Settings, env: Mapping[str, str] | None = None,
                   **overrides: object) -> VOConfig:
    """The VO configuration of ``settings``: its ``vo`` section, ``env`` over it when given
    (else the section as loaded), then ``overrides`` (``None`` values ignored)."""
    section = settings.vo if env is None else section_from(settings.vo, env)
    values: dict[str, object] = {f.name: getattr(section, f.name)
                                 for f in dataclasses.fields(VOSettings)}
    viewer_url = (settings.viewer.public_url if env is None
                  else env.get("MUSEDC_VIEWER_URL")) or DEFAULT_VIEWER_URL
    values["viewer_url"] = viewer_url
    values.update({k: v for k, v in overrides.items() if v is not None})
    if isinstance(values.get("publishable"), str):
        values["publishable"] = tuple(s.strip() for s in str(values["publishable"]).split(",")
                                      if s.strip())
    return VOConfig(settings=settings, **values)  # type: ignore[arg-type]
