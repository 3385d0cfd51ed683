"""A bulk download: query, locate every product through its DataLink, fetch them K at a
time, verify each against its checksum, and report what failed.

Files land in DEST under their own names (``<id>/<name>`` when two products of the
selection share a name); ``DEST/SHA256SUMS`` lists what was verified, for
``sha256sum -c``. Interrupted, a rerun resumes the partial files and skips complete ones.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from qcservice.delivery.items import SUMS_FILE, Item, relative_paths
from qcservice.download.fetch import Outcome, Progress, State, fetch
from qcservice.download.tap import DownloadError, Failure, VOClient, filename_of


class _Stopped(Exception):
    """Raised in the workers once the download was interrupted."""


@dataclass
class Report:
    """Every product's outcome, and the products that could not be located."""

    outcomes: list[Outcome] = field(default_factory=list)
    unlocated: list[Failure] = field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.unlocated

    def describe(self) -> str:
        """A summary line, then one line per failure."""
        n = Counter(o.status for o in self.outcomes)
        verified = sum(1 for o in self.outcomes if o.verified)
        unchecked = sum(1 for o in self.outcomes if o.status != "failed" and not o.verified)
        received = sum(o.received for o in self.outcomes)
        total = len(self.outcomes) + len(self.unlocated)
        lines = [f"{total} products: {n['downloaded']} downloaded, {n['complete']} already "
                 f"complete, {len(self.failed) + len(self.unlocated)} failed; "
                 f"{received / 1e6:.1f} MB received; {verified} checksums verified"
                 + (f", {unchecked} without a stored checksum (size only)" if unchecked
                    else "")]
        lines += [f"FAILED {f.did}: {f.message}" for f in self.unlocated]
        lines += [f"FAILED {o.rel}: {o.message}" for o in self.failed]
        return "\n".join(lines)


def _locate(client: VOClient, did: str,
            sums: dict[str, tuple[str | None, int | None]]) -> Item | Failure:
    try:
        url, length = client.locate(did)
        checksum, size = sums.get(did, (None, None))
        return Item(did, url, filename_of(url), size if size is not None else length,
                    checksum)
    except (DownloadError, OSError) as exc:
        return Failure(did, str(exc))


def _write_sums(dest: Path, outcomes: list[Outcome]) -> None:
    path = dest / SUMS_FILE
    sums: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            digest, _, rel = line.partition("  ")
            if rel:
                sums[rel] = digest
    for o in outcomes:
        if o.status != "failed" and o.item.checksum:
            sums[o.rel] = o.item.checksum.removeprefix("sha256:")
    path.write_text("".join(f"{d}  {r}\n" for r, d in sorted(sums.items())))


def download(client: VOClient, adql: str, dest: Path, parallel: int = 4,
             progress_factory: Callable[[int], Progress] | None = None,
             maxrec: int = 100_000) -> Report:
    """Fetch every product ``adql`` selects into ``dest``; ``progress_factory(total)``
    gives the callback that is told of every byte (a progress bar)."""
    dest.mkdir(parents=True, exist_ok=True)
    dids = client.query(adql, maxrec)
    sums = client.checksums(dids) if dids else {}
    report = Report()
    with ThreadPoolExecutor(max(1, parallel)) as pool:
        located = list(pool.map(lambda d: _locate(client, d, sums), dids))
    items = [x for x in located if isinstance(x, Item)]
    report.unlocated = [x for x in located if isinstance(x, Failure)]
    progress = (progress_factory or (lambda _total: lambda _n: None))(
        sum(i.size or 0 for i in items))
    stop = threading.Event()

    def tick(n: int) -> None:
        if stop.is_set():
            raise _Stopped
        progress(n)

    state = State(dest)
    pool = ThreadPoolExecutor(max(1, parallel))
    try:
        futures = [pool.submit(fetch, client.session, item, rel, dest, state, tick,
                               client.timeout)
                   for item, rel in zip(items, relative_paths(items), strict=True)]
        report.outcomes = [f.result() for f in futures]
    except BaseException:
        stop.set()  # the running transfers stop at their next chunk, their .part kept
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()
    _write_sums(dest, report.outcomes)
    return report
