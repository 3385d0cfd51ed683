#!/usr/bin/python3
"""Health check of a service in docker/compose.yaml: exit 0 when URL answers 200, else 1.

    healthcheck.py URL [TIMEOUT_SECONDS]

Standard library only: it runs under Debian's python3 or the project's, in any container
of the image. The reason for a failure goes to stderr (docker inspect shows it).
"""

import sys
import urllib.error
import urllib.request


def check(url: str, timeout: float) -> int:
    """0 when ``url`` answers 200 within ``timeout`` seconds (redirects not followed)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=timeout) as resp:
            status = resp.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError, ValueError) as exc:
        print(f"{url}: {exc}", file=sys.stderr)
        return 1
    if status != 200:
        print(f"{url}: HTTP {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: healthcheck.py URL [TIMEOUT_SECONDS]")
    sys.exit(check(sys.argv[1], float(sys.argv[2]) if len(sys.argv) == 3 else 5.0))
