"""The disk full while QC writes its images (a real tmpfs of a few kilobytes mounted over
the image folder): the cubes fail with a clear error, nothing else is disturbed, images
recorded by an earlier run stay whole, and a rerun once there is space completes."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from sqlalchemy import Engine, text

from qcservice.ingest.runner import ingest_paths
from qcservice.qc.run import run_qc

pytestmark = pytest.mark.root   # mounts a tmpfs
CUBES = ["DATACUBE_FINAL_1.fits", "DATACUBE_FINAL_2.fits"]


@contextmanager
def small_disk(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on ``path`` for the block (mounting needs root)."""
    path.mkdir(parents=True, exist_ok=True)
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=755", "tmpfs",
                            str(path)], capture_output=True, text=True)
    if mount.returncode != 0:
        pytest.fail(f"this test fills a real file system: mounting a tmpfs needs root "
                    f"({mount.stderr.strip()})")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


def fill(path: Path) -> Path:
    """Write zeros into ``path`` until the file system is full."""
    filler = path / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == 28, exc
    finally:
        os.close(fd)
    return filler


def state(engine: Engine) -> dict:
    with engine.connect() as conn:
        return {
            "done": dict(conn.execute(text(
                "SELECT f.filename, d.status FROM qc.qc_done d JOIN qc.files f "
                "USING (file_id)")).all()),
            "images": {r.path: r.filename for r in conn.execute(text(   # not the previews
                "SELECT i.path, f.filename FROM qc.qc_images i JOIN qc.files f "
                "USING (file_id) WHERE i.kind <> 'preview'"))},
        }


def png_ok(path: str) -> bool:
    data = Path(path).read_bytes()
    return data.startswith(b"\x89PNG") and data.endswith(b"IEND\xaeB`\x82")


@pytest.mark.slow
def test_disk_full_while_writing_images(engine: Engine, tiny: Path,
                                        tmp_path: Path) -> None:
    ingest_paths(engine, [tiny], workers=1, checksum=False)
    with small_disk(tmp_path / "images", "48k") as images:
        report = run_qc(engine, images, workers=2)
        failed = {Path(p).name: reason for p, reason in report.failures}
        assert sorted(failed) == CUBES
        for name, reason in failed.items():
            assert name in reason and "cannot write its QC images" in reason, reason
            assert "No space left on device" in reason, reason
        first = state(engine)
        assert {first["done"][c] for c in CUBES} == {"failed"}
        assert set(first["done"].values()) == {"done", "failed"}
        assert report.done == len(first["done"]) - 2     # every other file checked
        assert first["images"] == {}

        subprocess.run(["mount", "-o", "remount,size=4m", str(images)], check=True)
        retry = run_qc(engine, images, workers=2)
        assert (retry.done, retry.ok) == (2, True)
        second = state(engine)
        assert set(second["done"].values()) == {"done"} and len(second["images"]) == 10
        assert all(png_ok(p) for p in second["images"])
        kept = {p: Path(p).read_bytes() for p in second["images"]}

        # a cube reprocessed (noisier: larger images), checked again on a full disk: it
        # fails, and the images of its last good check stay whole
        cube = tiny / "products" / CUBES[0]
        with fits.open(cube, mode="update") as hdul:
            data = hdul["DATA"].data
            data += np.random.default_rng(1).normal(0, 50, data.shape).astype(data.dtype)
        assert ingest_paths(engine, [cube], workers=1, checksum=False).updated == 1
        filler = fill(images)
        third = run_qc(engine, images, workers=1)
        assert [Path(p).name for p, _ in third.failures] == [CUBES[0]]
        assert state(engine)["images"] == second["images"]
        assert {p: Path(p).read_bytes() for p in kept} == kept
        assert not [p for p in images.rglob("*") if p.name.endswith(".tmp")]

        filler.unlink()
        assert run_qc(engine, images, workers=1).ok
        assert state(engine) == second
        assert all(png_ok(p) for p in second["images"])
        new = [p for p, name in second["images"].items() if name == CUBES[0]]
        assert any(Path(p).read_bytes() != kept[p] for p in new)   # the noisier cube's
