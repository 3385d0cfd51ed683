"""The VO side of a bulk download: the ADQL query (TAP), each product's ``#this`` link
(DataLink) and the checksums taken at ingest (TAP table ``muse.file_checksums``).

DaCHS crops a multi-ID DataLink answer at its MAXREC, silently for the IDs after the
cut, so each product's DataLink is asked for on its own (in parallel by the caller).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import requests

from qcservice.errors import MusedcError

DID_COLUMNS = ("obs_publisher_did", "publisher_did", "pub_did")
DATALINK_PATH = "muse/q/dl/dlmeta"
CHECKSUM_TABLE = "muse.file_checksums"
_BATCH = 100


class DownloadError(MusedcError, RuntimeError):
    """The query, the services or the destination do not allow the download to start."""


@dataclass(frozen=True)
class Failure:
    """A product that could not even be located (its DataLink failed)."""

    did: str
    message: str


class VOClient:
    """TAP and DataLink of one data centre, through one requests session."""

    def __init__(self, service_url: str, session: requests.Session, timeout: float = 120):
        self.base = service_url.rstrip("/") + "/"
        self.session = session
        self.timeout = timeout

    def _tap(self):
        import pyvo

        return pyvo.dal.TAPService(self.base + "tap", session=self.session)

    def query(self, adql: str, maxrec: int = 100_000) -> list[str]:
        """The publisher DIDs the query selects, in its order, without repeats."""
        import pyvo

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", pyvo.dal.exceptions.DALOverflowWarning)
                result = self._tap().run_sync(adql, maxrec=maxrec)
        except pyvo.dal.exceptions.DALOverflowWarning as exc:
            raise DownloadError(f"the query selects more than {maxrec} rows: narrow it, "
                                f"or raise --maxrec") from exc
        except pyvo.dal.DALServiceError as exc:
            raise DownloadError(f"TAP at {self.base}tap cannot be reached: {exc}") from exc
        except pyvo.dal.DALQueryError as exc:
            raise DownloadError(f"the query was refused: {exc}") from exc
        names = {n.lower(): n for n in result.fieldnames}
        column = next((names[c] for c in DID_COLUMNS if c in names), None)
        if column is None:
            raise DownloadError(f"the query must select obs_publisher_did (the products' "
                                f"publisher DIDs); it selects {', '.join(result.fieldnames)}")
        dids = [str(v) for v in result[column] if v is not None and str(v)]
        return list(dict.fromkeys(dids))

    def checksums(self, dids: list[str]) -> dict[str, tuple[str | None, int | None]]:
        """DID -> (checksum, size) from muse.file_checksums (absent DIDs are left out)."""
        tap = self._tap()
        found: dict[str, tuple[str | None, int | None]] = {}
        for start in range(0, len(dids), _BATCH):
            quoted = ", ".join("'" + d.replace("'", "''") + "'"
                               for d in dids[start:start + _BATCH])
            table = tap.run_sync(f"SELECT publisher_did, checksum, size_bytes "
                                 f"FROM {CHECKSUM_TABLE} WHERE publisher_did IN ({quoted})",
                                 maxrec=_BATCH * 2).to_table()
            for row in table:
                checksum = row["checksum"]
                size = row["size_bytes"]
                found[str(row["publisher_did"])] = (
                    str(checksum) if checksum and not _masked(checksum) else None,
                    None if _masked(size) else int(size))
        return found

    def locate(self, did: str) -> tuple[str, int | None]:
        """The #this access URL and content length of ``did`` from its DataLink."""
        from astropy.io.votable import parse_single_table

        resp = self.session.get(self.base + DATALINK_PATH, params={"ID": did},
                                timeout=self.timeout)
        if resp.status_code != 200:
            raise DownloadError(f"DataLink answered HTTP {resp.status_code}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = parse_single_table(io.BytesIO(resp.content)).to_table()
        for row in table:
            if str(row["semantics"]) != "#this":
                continue
            if row["error_message"] and not _masked(row["error_message"]):
                raise DownloadError(f"DataLink: {row['error_message']}")
            length = row["content_length"]
            return str(row["access_url"]), None if _masked(length) or length < 0 else int(length)
        raise DownloadError("DataLink lists no #this link for it")


def _masked(value) -> bool:
    import numpy as np

    return value is np.ma.masked or (isinstance(value, float) and value != value)


def filename_of(url: str) -> str:
    """The file name at the end of an access URL (``/getproduct/muse/12/CUBE.fits``)."""
    name = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
    if not name or name in (".", "..") or "/" in name or "\\" in name:
        raise DownloadError(f"no usable file name in {url}")
    return name
