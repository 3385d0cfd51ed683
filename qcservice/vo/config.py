"""Settings of the VO services (DaCHS), read from ``MUSEDC_VO_*`` environment variables.

They live apart from :class:`qcservice.config.Settings` (which refuses unknown keys) and
always derive from it: the DaCHS instance sits under ``$MUSEDC_HOME/vo`` and uses the same
PostgreSQL database as the qc schema.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from qcservice.config import ConfigError, Settings
from qcservice.vocabulary import PASSED_STATES, QA_STATES

DEFAULT_PORT = 8090
DEFAULT_PUBLISHABLE = PASSED_STATES

HELP = {
    "vo_port": f"TCP port of the DaCHS server (default {DEFAULT_PORT})",
    "vo_bind": "address DaCHS listens on (default 127.0.0.1)",
    "vo_server_url": "public base URL of DaCHS (default http://localhost:PORT)",
    "vo_authority": "IVOA authority of the data centre (default musedc.invalid: not registered)",
    "vo_publishable": "QA states that reach ObsCore, comma-separated (default Pass,Usable)",
    "vo_contact_email": "contact e-mail of the VO services in registry records "
                        "(default vo-admin@musedc.invalid: a local placeholder)",
    "vo_contact_name": "contact name in registry records",
    "vo_publisher": "publisher (organisation) in registry records",
    "vo_site_title": "title of the site (root page, registry records)",
    "vo_site_description": "description of the site (root page, registry records)",
    "viewer_url": "base URL of the QA viewer, for DataLink #auxiliary links "
                  "(default http://localhost:8080)",
}


@dataclass(frozen=True)
class VOConfig:
    """Where and how the DaCHS instance runs."""

    settings: Settings
    port: int = DEFAULT_PORT
    bind: str = "127.0.0.1"
    server_url: str = ""
    # .invalid: clearly local values until the operator registers the site
    authority: str = "musedc.invalid"
    contact_email: str = "vo-admin@musedc.invalid"
    contact_name: str = "MUSE GTO data centre (local installation)"
    publisher: str = "MUSE GTO consortium data centre"
    site_title: str = "MUSE GTO data centre"
    site_description: str = ("Quality-controlled MUSE GTO data products (cubes, images, "
                             "spectra) with their QC results.")
    publishable: tuple[str, ...] = DEFAULT_PUBLISHABLE
    viewer_url: str = "http://localhost:8080"      # `musedc viewer serve`'s default

    @property
    def root(self) -> Path:
        """DaCHS's rootDir."""
        return self.settings.home / "vo"

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


def _states(raw: str) -> tuple[str, ...]:
    states = tuple(s.strip() for s in raw.split(",") if s.strip())
    unknown = [s for s in states if s not in QA_STATES]
    if unknown or not states:
        raise ConfigError(f"MUSEDC_VO_PUBLISHABLE: {raw!r}: QA states are {QA_STATES}")
    return states


def load_vo_config(settings: Settings, env: dict[str, str] | None = None,
                   **overrides: object) -> VOConfig:
    """The VO settings for ``settings`` from ``env`` (default ``os.environ``) and overrides."""
    env = dict(os.environ if env is None else env)
    values: dict[str, object] = {}
    try:
        if env.get("MUSEDC_VO_PORT"):
            values["port"] = int(env["MUSEDC_VO_PORT"])
    except ValueError as exc:
        raise ConfigError(f"MUSEDC_VO_PORT: not a port: {env['MUSEDC_VO_PORT']!r}") from exc
    for key, name in (("bind", "MUSEDC_VO_BIND"), ("server_url", "MUSEDC_VO_SERVER_URL"),
                      ("authority", "MUSEDC_VO_AUTHORITY"), ("viewer_url", "MUSEDC_VIEWER_URL"),
                      ("contact_email", "MUSEDC_VO_CONTACT_EMAIL"),
                      ("contact_name", "MUSEDC_VO_CONTACT_NAME"),
                      ("publisher", "MUSEDC_VO_PUBLISHER"),
                      ("site_title", "MUSEDC_VO_SITE_TITLE"),
                      ("site_description", "MUSEDC_VO_SITE_DESCRIPTION")):
        if env.get(name):
            values[key] = env[name]
    if env.get("MUSEDC_VO_PUBLISHABLE"):
        values["publishable"] = _states(env["MUSEDC_VO_PUBLISHABLE"])
    values.update({k: v for k, v in overrides.items() if v is not None})
    if isinstance(values.get("publishable"), str):
        values["publishable"] = _states(str(values["publishable"]))
    return VOConfig(settings=settings, **values)  # type: ignore[arg-type]
