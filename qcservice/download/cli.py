"""``musedc download "ADQL" DEST``: bulk download of VO products, resumable and verified."""

from __future__ import annotations

import netrc
from pathlib import Path
from urllib.parse import urlsplit

import click
import requests

from qcservice.config import environment
from qcservice.download.bulk import download as run_download
from qcservice.download.tap import DownloadError, VOClient

DEFAULT_SERVICE = "http://localhost:8090/"
PASSWORD_ENV = "MUSEDC_PASSWORD"


def make_session(service: str, user: str | None = None, password: str | None = None,
                 netrc_file: Path | None = None) -> requests.Session:
    """A session with the user's credentials: ``user``/``password``, else the entry for
    the service's host in ``netrc_file``, else (by requests itself) ``$NETRC`` or
    ``~/.netrc``. Credentials go only to that host (requests drops them on redirects)."""
    session = requests.Session()
    session.headers["User-Agent"] = "musedc-download"
    if user is not None:
        session.auth = (user, password or "")
    elif netrc_file is not None:
        host = urlsplit(service).hostname or ""
        try:
            entry = netrc.netrc(str(netrc_file)).authenticators(host)
        except (OSError, netrc.NetrcParseError) as exc:
            raise DownloadError(f"{netrc_file}: cannot be read as a netrc file: {exc}") from exc
        if entry is None:
            raise DownloadError(f"{netrc_file} has no entry for {host}")
        session.auth = (entry[0], entry[2] or "")
    return session


def _bar(quiet: bool):
    def factory(total: int):
        if quiet:
            return lambda _n: None
        from tqdm import tqdm

        bar = tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1000,
                   desc="downloading", disable=None, leave=True)
        return bar.update
    return factory


@click.command("download")
@click.argument("query")
@click.argument("dest", type=click.Path(file_okay=False, path_type=Path))
@click.option("--parallel", "-k", default=4, show_default=True,
              type=click.IntRange(1, 32), help="Files fetched at a time.")
@click.option("--service", envvar="MUSEDC_VO_URL", default=DEFAULT_SERVICE,
              show_default=True, help="Base URL of the VO services (TAP at SERVICE/tap); "
              "environment MUSEDC_VO_URL.")
@click.option("--user", default=None, help="User name for proprietary products; the "
              f"password is asked for, or read from ${PASSWORD_ENV}.")
@click.option("--netrc-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="netrc file holding the credentials for the service's host "
              "(default: $NETRC or ~/.netrc, when they exist).")
@click.option("--maxrec", default=100_000, show_default=True, type=click.IntRange(1),
              help="Most rows the query may return.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def download(query: str, dest: Path, parallel: int, service: str, user: str | None,
             netrc_file: Path | None, maxrec: int, quiet: bool) -> None:
    """Fetch every product an ADQL QUERY selects into DEST.

    The query must select obs_publisher_did (e.g. SELECT obs_publisher_did FROM
    ivoa.obscore WHERE ...). Each product is located through its DataLink (#this),
    fetched K at a time with a progress bar, and verified against the SHA-256 taken at
    ingest. A rerun resumes partial files and skips complete ones. Proprietary products
    need the credentials of a member of their owner group (--user, or a netrc entry).
    The exit status is 1 when anything failed; each failure is named with its reason.
    """
    password = None
    if user is not None:
        password = environment().get(PASSWORD_ENV) or click.prompt(
            f"Password of {user}", hide_input=True, err=True)
    client = VOClient(service, make_session(service, user, password, netrc_file))
    report = run_download(client, query, dest, parallel, _bar(quiet), maxrec)
    click.echo(report.describe())
    if not report.ok:
        raise SystemExit(1)
