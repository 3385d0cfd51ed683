"""The pieces of a download that need no VO service: where files land, the streamed tar
archive, and the curl script run by bash against a local HTTP server, with file names
that would break careless quoting."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import os
import subprocess
import tarfile
import threading
from pathlib import Path

import pytest

from qcservice.delivery.archive import (
    ArchiveError,
    Member,
    archive_size,
    check_files,
    stream_tar,
)
from qcservice.delivery.items import Item, relative_paths
from qcservice.delivery.script import ScriptFile, file_url, make_script
from qcservice.download.tap import DownloadError, filename_of


def _sum(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_files_never_land_outside_dest() -> None:
    items = [Item("a", "http://h/getproduct/muse/1/x.fits", "x.fits", 1, None),
             Item("b", "http://h/getproduct/muse/%2E%2E/x.fits", "x.fits", 1, None),
             Item("c", "http://h/getproduct/muse/3/y.fits", "y.fits", 1, None)]
    paths = relative_paths(items)
    assert paths[0] == "1/x.fits" and paths[2] == "y.fits"
    assert ".." not in paths[1] and paths[1].endswith("/x.fits")
    for bad in ("http://h/getproduct/muse/1/..", "http://h/", "http://h/a/%2E%2E"):
        with pytest.raises(DownloadError, match="no usable file name"):
            filename_of(bad)


def test_archive_is_a_tar_of_exactly_the_announced_length(tmp_path: Path) -> None:
    members = []
    for i, n in enumerate((0, 511, 512, 513, 70_000)):
        path = tmp_path / f"f{i}"
        data = os.urandom(n)
        path.write_bytes(data)
        name = ("long-" * 30 + ".fits") if i == 4 else f"night/f{i}.fits"
        members.append(Member(name, str(path), n, _sum(data) if i else None))
    body = b"".join(stream_tar(members, mtime=1e9))
    assert len(body) == archive_size(members, mtime=1e9) and len(body) % 512 == 0
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        got = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
    sums = got.pop("SHA256SUMS").decode().splitlines()
    assert set(got) == {m.name for m in members}
    for m in members:
        assert got[m.name] == Path(m.path).read_bytes()
    assert len(sums) == 4 and f"{members[4].checksum[7:]}  {members[4].name}" in sums


def test_archive_names_files_that_changed_on_disk(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"12345")
    members = [Member("a.fits", str(tmp_path / "a"), 4, None),
               Member("b.fits", str(tmp_path / "b"), 4, None)]
    with pytest.raises(ArchiveError) as err:
        check_files(members)
    assert "a.fits: 5 bytes on disk, 4 catalogued" in str(err.value)
    assert "b.fits: no longer on disk" in str(err.value)


@pytest.fixture
def http_dir(tmp_path: Path):
    """A plain HTTP server over a folder (it ignores credentials; the viewer's own checks
    are tested in tests/viewer/test_viewer_downloads.py)."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_script_survives_hostile_file_names(http_dir, tmp_path: Path) -> None:
    root, base = http_dir
    names = ["plain.fits", "with space.fits", "quote'd.fits", "$(touch pwned).fits",
             "-dash.fits", 'back\\slash"q.fits']
    files = []
    for i, name in enumerate(names):
        (root / "files" / str(i)).mkdir(parents=True)
        data = os.urandom(1000 + i)
        (root / "files" / str(i) / name).write_bytes(data)
        files.append(ScriptFile(name, file_url(base, i, name), len(data), _sum(data)))
    script = make_script(files, base, "alice")
    (tmp_path / "get.sh").write_text(script)
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login alice password pw\n")
    dest = tmp_path / "dest"
    run = subprocess.run(["bash", str(tmp_path / "get.sh"), str(dest)], capture_output=True,
                         text=True, cwd=tmp_path, timeout=120, check=False,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path),
                              "NETRC": str(netrc)})
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in dest.iterdir()) == sorted(names)
    for f in files:
        assert _sum((dest / f.rel).read_bytes()) == f.checksum
    assert not (tmp_path / "pwned").exists() and not (dest / "pwned").exists()
