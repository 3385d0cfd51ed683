"""The unprivileged system account that runs the data centre's servers when we are root.

PostgreSQL refuses to run as root, and DaCHS should not: both switch to
``MUSEDC_SERVICE_USER`` (created by scripts/setup.sh) when started by root, and run as
the invoking user otherwise.
"""

from __future__ import annotations

import os
import pwd


def service_account(name: str, server: str, error: type[Exception]
                    ) -> pwd.struct_passwd | None:
    """The account ``server`` runs as: None for the current user when not root, else the
    system user ``name``; raises ``error`` saying how to create it when it is missing."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise error(
            f"running as root, {server} needs an unprivileged system user {name!r}, which "
            f"does not exist: run scripts/setup.sh, or create it with "
            f"'useradd --system --user-group {name}', or set MUSEDC_SERVICE_USER") from None


def switch_kwargs(account: pwd.struct_passwd | None) -> dict[str, object]:
    """subprocess keyword arguments that run the child as ``account`` (none: as we are)."""
    if account is None:
        return {}
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
