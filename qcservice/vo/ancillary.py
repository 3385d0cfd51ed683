"""Stage ancillary data and file checksums for DaCHS (``resources/muse/q.rd``).

- ``ancillary.jsonl`` -> ``muse.ancillary``: every registered ancillary file, served by
  ``/getproduct`` (embargoed ones to their owner group only) and listed as ``#counterpart``
  in the DataLink of the MUSE products it overlaps;
- ``checksums.jsonl`` -> ``muse.file_checksums``: the SHA-256 taken at ingest (or at
  registration) and the size of every file ``/getproduct`` serves, by publisher DID and
  access reference, so that downloads can verify what they received.

The files served are those of every staged products file (rows with a ``p_accref``), so
the checksums follow what publish staged, whatever it staged.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, text

from qcservice.vo.config import VOConfig
from qcservice.vo.stage import embargo, pub_did, write_jsonl

ANCILLARY_FILE = "ancillary.jsonl"
CHECKSUMS_FILE = "checksums.jsonl"

_ANCILLARY_SQL = """
SELECT a.anc_id, a.collection, a.path, a.filename, a.kind, a.mime, a.size_bytes,
       a.checksum, a.instrument, a.facility, a.band, a.n_rows, a.ra, a.dec,
       a.release_date, a.corners, g.name AS owner
FROM qc.ancillary a LEFT JOIN qc.groups g ON g.group_id = a.owner_group_id
ORDER BY a.anc_id"""


def ancillary_accref(anc_id: int, filename: str) -> str:
    """The access reference of an ancillary file (``/getproduct/<accref>``)."""
    return f"muse/anc/{anc_id}/{filename}"


def ancillary_rows(engine: Engine) -> list[dict]:
    """One staging row per registered ancillary file."""
    with engine.connect() as conn:
        rows = conn.execute(text(_ANCILLARY_SQL)).mappings().all()
    out = []
    for r in rows:
        held = embargo(r["release_date"])
        out.append({
            "p_accref": ancillary_accref(r["anc_id"], r["filename"]), "p_path": r["path"],
            "p_fsize": r["size_bytes"], "p_mime": r["mime"],
            "p_owner": r["owner"] if held else None, "p_embargo": held,
            "anc_id": r["anc_id"], "collection": r["collection"], "filename": r["filename"],
            "kind": r["kind"], "instrument_name": r["instrument"],
            "facility_name": r["facility"], "band": r["band"], "n_rows": r["n_rows"],
            "s_ra": r["ra"], "s_dec": r["dec"], "checksum": r["checksum"],
            "corners": [[float(ra), float(dec)] for ra, dec in r["corners"]],
        })
    return out


def _served(stage_dir: Path, skip: str) -> Iterator[str]:
    """Access references of every staged products file (first row has a ``p_accref``)."""
    for path in sorted(stage_dir.glob("*.jsonl")):
        if path.name in (skip, CHECKSUMS_FILE):
            continue
        with open(path, encoding="utf-8") as f:
            first = f.readline()
            if '"p_accref"' not in first:
                continue
            for line in [first, *f]:
                if line.strip():
                    yield json.loads(line)["p_accref"]


def checksum_rows(engine: Engine, vo: VOConfig, stage_dir: Path,
                  ancillary: list[dict]) -> list[dict]:
    """Checksum and size of every served MUSE file (from qc.files) and ancillary file."""
    refs = sorted(set(_served(stage_dir, ANCILLARY_FILE)))
    ids = {int(ref.split("/")[1]): ref for ref in refs if ref.split("/")[1].isdigit()}
    with engine.connect() as conn:
        files = conn.execute(text(
            "SELECT file_id, filename, size_bytes, checksum FROM qc.files "
            "WHERE file_id = ANY(:ids) ORDER BY file_id"), {"ids": list(ids)}).all()
    out = [{"publisher_did": pub_did(vo, ids[f.file_id]), "accref": ids[f.file_id],
            "filename": f.filename, "size_bytes": f.size_bytes, "checksum": f.checksum}
           for f in files]
    out += [{"publisher_did": pub_did(vo, a["p_accref"]), "accref": a["p_accref"],
             "filename": a["filename"], "size_bytes": a["p_fsize"], "checksum": a["checksum"]}
            for a in ancillary]
    return out


def stage_ancillary(engine: Engine, stage_dir: Path, vo: VOConfig) -> dict[str, int]:
    """Write ancillary.jsonl and checksums.jsonl (after the other staging files, whose
    served files the checksums cover); return their row counts."""
    rows = ancillary_rows(engine)
    n_anc = write_jsonl(stage_dir / ANCILLARY_FILE, rows)
    n_sums = write_jsonl(stage_dir / CHECKSUMS_FILE, checksum_rows(engine, vo, stage_dir, rows))
    return {"ancillary": n_anc, "checksums": n_sums}
