"""Bulk download through the real DaCHS: a published night into an empty folder,
interrupted in the middle and rerun, ends with every file once and every checksum
verified; the proprietary cube is refused without credentials and delivered with them;
a file that does not match its checksum is not kept; the documented pyvo recipe works."""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from vo_support import PASSWORD

from qcservice.cli import main
from qcservice.download.bulk import download
from qcservice.download.cli import make_session
from qcservice.download.tap import VOClient
from qcservice.fits.checksum import sha256_of

pytestmark = pytest.mark.slow

# the published products of the night 2024-03-10 (its exposures start after 12:00 UT)
NIGHT_QUERY = ("SELECT obs_publisher_did FROM ivoa.obscore "
               "WHERE obs_collection = 'MUSE-GTO' AND t_min BETWEEN 60379.5 AND 60380.5")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "download.md"


@pytest.fixture(scope="module")
def night(vo_service):
    """Checksums as ingest takes them (the session's catalogue was built without), then
    published; returns the night's published files: name -> (path, checksum)."""
    engine = vo_service.engine
    with engine.begin() as conn:
        for fid, path in conn.execute(text(
                "SELECT file_id, path FROM qc.files WHERE checksum IS NULL")).all():
            conn.execute(text("UPDATE qc.files SET checksum = :c WHERE file_id = :f"),
                         {"c": sha256_of(path), "f": fid})
    vo_service.republish()
    with engine.connect() as conn:
        dids = conn.execute(text("SELECT obs_publisher_did FROM ivoa.obscore "
                                 "WHERE t_min BETWEEN 60379.5 AND 60380.5")).scalars().all()
        ids = [int(d.split("?", 1)[1].split("/")[1]) for d in dids]
        rows = conn.execute(text(
            "SELECT filename, path, checksum, release_date > current_date AS proprietary "
            "FROM qc.files WHERE file_id = ANY(:ids)"), {"ids": ids}).all()
    return {r.filename: (r.path, r.checksum, r.proprietary) for r in rows}


def _sha(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def _netrc(tmp_path: Path, user: str) -> Path:
    path = tmp_path / f"netrc-{user}"
    path.write_text(f"machine localhost login {user} password {PASSWORD}\n")
    path.chmod(0o600)
    return path


def test_interrupted_night_download_resumes_and_verifies(vo_service, night, tmp_path):
    assert {"DATACUBE_FINAL_1.fits", "DATACUBE_FINAL_2.fits", "IMAGE_FOV_1.fits"} <= set(night)
    secret = sorted(name for name, (_p, _c, held) in night.items() if held)
    assert "DATACUBE_FINAL_1.fits" in secret
    dest = tmp_path / "night"
    client = VOClient(vo_service.url, make_session(vo_service.url))
    total = sum(Path(p).stat().st_size for p, _c, _h in night.values())
    seen = []

    def interrupt_halfway(_total):
        def tick(n):
            seen.append(n)
            if sum(seen) > total // 3:
                raise KeyboardInterrupt
        return tick

    with pytest.raises(KeyboardInterrupt):
        download(client, NIGHT_QUERY, dest, parallel=2, progress_factory=interrupt_halfway)
    assert list(dest.glob("*.part")), "the interruption left no partial file"
    runner = CliRunner()
    anonymous = runner.invoke(main, ["download", NIGHT_QUERY, str(dest), "--service",
                                     vo_service.url, "-k", "3", "-q"])
    assert anonymous.exit_code == 1
    assert re.search(r"FAILED DATACUBE_FINAL_1.fits: refused: proprietary, credentials "
                     r"needed \(HTTP 401\)", anonymous.output), anonymous.output
    assert f"{len(secret)} failed" in anonymous.output
    assert all(f"FAILED {name}: refused" in anonymous.output for name in secret)
    stranger = runner.invoke(main, ["download", NIGHT_QUERY, str(dest), "--service",
                                    vo_service.url, "--user", "stranger", "-q"],
                             env={"MUSEDC_PASSWORD": PASSWORD})
    assert "FAILED DATACUBE_FINAL_1.fits: refused" in stranger.output
    member = runner.invoke(main, ["download", NIGHT_QUERY, str(dest), "--service",
                                  vo_service.url, "--netrc-file",
                                  str(_netrc(tmp_path, "member")), "-q"])
    assert member.exit_code == 0, member.output
    assert f"{len(night)} products: {len(secret)} downloaded, {len(night) - len(secret)} " \
           f"already complete, 0 failed" in member.output
    assert f"{len(night)} checksums verified" in member.output
    files = sorted(p.name for p in dest.iterdir() if not p.name.startswith("."))
    assert files == sorted([*night, "SHA256SUMS"])  # every file once, no part left
    for name, (_path, checksum, _held) in night.items():
        assert _sha(dest / name) == checksum, name
    check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=dest, capture_output=True,
                           text=True, check=False)
    assert check.returncode == 0 and check.stdout.count(": OK") == len(night)


def test_a_file_that_differs_from_its_checksum_is_not_kept(vo_service, night, tmp_path):
    engine = vo_service.engine
    with engine.begin() as conn:
        good = conn.execute(text("UPDATE muse.file_checksums SET checksum = 'sha256:' || "
                                 "repeat('0', 64) WHERE filename = 'IMAGE_FOV_1.fits' "
                                 "RETURNING (SELECT checksum FROM qc.files "
                                 "WHERE filename = 'IMAGE_FOV_1.fits')")).scalar_one()
    try:
        client = VOClient(vo_service.url, make_session(vo_service.url))
        report = download(client, NIGHT_QUERY + " AND obs_publisher_did LIKE '%IMAGE_FOV%'",
                          tmp_path, parallel=1)
    finally:
        with engine.begin() as conn:
            conn.execute(text("UPDATE muse.file_checksums SET checksum = :c "
                              "WHERE filename = 'IMAGE_FOV_1.fits'"), {"c": good})
    assert not report.ok
    assert "checksum mismatch: expected sha256:0000" in report.describe()
    assert not (tmp_path / "IMAGE_FOV_1.fits").exists()
    assert not (tmp_path / "IMAGE_FOV_1.fits.part").exists()
    corrupt = tmp_path / "IMAGE_FOV_1.fits"
    corrupt.write_bytes(b"not the image")
    again = download(client, NIGHT_QUERY + " AND obs_publisher_did LIKE '%IMAGE_FOV%'",
                     tmp_path, parallel=1)
    assert again.ok and _sha(corrupt) == good


def test_query_without_dids_is_a_clear_error(vo_service, night, tmp_path):
    out = CliRunner().invoke(main, ["download", "SELECT obs_id FROM ivoa.obscore",
                                    str(tmp_path), "--service", vo_service.url])
    assert out.exit_code == 1 and "must select obs_publisher_did" in out.output
    bad = CliRunner().invoke(main, ["download", "SELECT nonsense FROM nowhere",
                                    str(tmp_path), "--service", vo_service.url])
    assert bad.exit_code == 1 and "the query was refused" in bad.output


def test_the_documented_pyvo_recipe(vo_service, night, tmp_path):
    code = re.search(r"```python\n(.*?)```", DOCS.read_text(), re.S).group(1)
    scope: dict = {}
    exec(compile(code, str(DOCS), "exec"), scope)
    failed = scope["fetch_all"](vo_service.url, NIGHT_QUERY, tmp_path)
    secret = {name for name, (_p, _c, held) in night.items() if held}
    assert {d.rsplit("/", 1)[1] for d in failed} == secret
    assert all("401" in why for why in failed.values())
    session = make_session(vo_service.url, "member", PASSWORD)
    assert scope["fetch_all"](vo_service.url, NIGHT_QUERY, tmp_path, session) == {}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(night)
    for name, (_path, checksum, _held) in night.items():
        assert _sha(tmp_path / name) == checksum
