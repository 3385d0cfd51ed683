"""Secrets on disk: which files under ``MUSEDC_HOME`` hold one, and their modes.

Every secret (the embedded cluster's password, DaCHS's database profiles and gavo.rc with
its ``adminpasswd``, the demo login, a musedc.toml that may hold a database URL) is
readable by its owning account only (mode 0600), inside folders other accounts cannot
list. ``musedc`` refuses to start when one is readable by others, with the path and the
command that fixes it: a local user must never be able to read a password there.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from pathlib import Path

from qcservice.config import ConfigError, Settings

# DaCHS writes its database profiles (user and password of each role) into etc/
DACHS_PROFILES = ("dsn", "feed", "trustedquery", "untrustedquery")
SECRET_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
TRAVERSE_DIR_MODE = 0o711   # the service user passes through; nobody lists


def secret_files(settings: Settings) -> list[Path]:
    """Every file under ``settings.home`` that holds a secret (whether it exists or not)."""
    paths = settings.paths
    vo = paths.vo
    return [paths.pg / "password", vo / "gavo.rc", vo / "adminpasswd",
            *(vo / "etc" / name for name in DACHS_PROFILES),
            paths.viewer_demo_password, paths.toml]


def private_dirs(settings: Settings) -> list[Path]:
    """Folders other accounts may not even traverse."""
    return [settings.paths.vo / "etc"]


def unlisted_dirs(settings: Settings) -> list[Path]:
    """Folders other accounts may traverse (the service user must) but not list."""
    return [settings.home, settings.paths.pg, settings.paths.vo]


def _holds_secret(path: Path) -> bool:
    """musedc.toml is a secret only when it holds a URL with a password."""
    if path.name != "musedc.toml":
        return True
    try:
        return re.search(r"://[^/\s:@]*:[^/\s@]+@", path.read_text(errors="replace")) is not None
    except OSError:
        return False


def problems(settings: Settings) -> list[str]:
    """What is open to other accounts, each with its fix; empty when all is well. (Folders
    that others may list are tightened by init, not refused: they reveal names only.)"""
    found = []
    for path in secret_files(settings):
        mode = _mode(path)
        if mode is not None and mode & 0o077 and _holds_secret(path):
            found.append(f"{path} (a secret) is mode {mode:04o}, readable by others: "
                         f"chmod 600 {path}")
    for path in private_dirs(settings):
        mode = _mode(path)
        if mode is not None and mode & 0o077:
            found.append(f"{path} is mode {mode:04o}, open to others: chmod 700 {path}")
    return found


def check(settings: Settings) -> None:
    """Raise ConfigError naming every secret others may read, and how to fix it."""
    found = problems(settings)
    if found:
        raise ConfigError("refusing to start: secrets are exposed to other accounts\n  "
                          + "\n  ".join(found))


def tighten(settings: Settings) -> None:
    """Give every secret and folder above its mode (what init and start call)."""
    for path in secret_files(settings):
        _chmod(path, SECRET_MODE)
    for path in private_dirs(settings):
        _chmod(path, PRIVATE_DIR_MODE)
    for path in unlisted_dirs(settings):
        mode = _mode(path)
        if mode is not None:
            _chmod(path, (mode & 0o700) | (TRAVERSE_DIR_MODE & 0o077))


def _mode(path: Path) -> int | None:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        return None


def _chmod(path: Path, mode: int) -> None:
    """Set the mode of a file this account owns; another account's file (the cluster's
    password when DaCHS runs as the service user) is its owner's to keep, and ``check``
    still refuses to start while it is exposed."""
    with contextlib.suppress(FileNotFoundError):
        if os.geteuid() == 0 or os.stat(path).st_uid == os.geteuid():
            os.chmod(path, mode)
