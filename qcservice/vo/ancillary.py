"""Stage ancillary data and file checksums for DaCHS (``qcservice/vo/resources/muse/q.rd``).

- ``ancillary.jsonl`` -> ``muse.ancillary``: every registered ancillary file, served by
  ``/getproduct`` (embargoed ones to their owner group only) and listed as ``#counterpart``
  in the DataLink of the MUSE products it overlaps;
- ``checksums.jsonl`` -> ``muse.file_checksums``: the SHA-256 taken at ingest (or at
  registration) and the size of every file ``/getproduct`` serves, by publisher DID and
  access reference, so that downloads can verify what they received.

The MUSE files served are those publish staged with a ``p_accref`` (products, their
inputs, spectra); publish hands them over as it writes them.
"""

from __future__ import annotations

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


def checksum_rows(engine: Engine, vo: VOConfig, served: dict[int, str],
                  ancillary: list[dict]) -> list[dict]:
    """Checksum and size of every served MUSE file (``served``: file_id -> accref, from
    qc.files) and of every ancillary file."""
    with engine.connect() as conn:
        files = conn.execute(text(
            "SELECT file_id, filename, size_bytes, checksum FROM qc.files "
            "WHERE file_id = ANY(:ids) ORDER BY file_id"), {"ids": list(served)}).all()
    out = [{"publisher_did": pub_did(vo, served[f.file_id]), "accref": served[f.file_id],
            "filename": f.filename, "size_bytes": f.size_bytes, "checksum": f.checksum}
           for f in files]
    out += [{"publisher_did": pub_did(vo, a["p_accref"]), "accref": a["p_accref"],
             "filename": a["filename"], "size_bytes": a["p_fsize"], "checksum": a["checksum"]}
            for a in ancillary]
    return out


def stage_ancillary(engine: Engine, stage_dir: Path, vo: VOConfig,
                    served: dict[int, str]) -> dict[str, int]:
    """Write ancillary.jsonl and checksums.jsonl (of the staged MUSE files ``served``,
    file_id -> accref, and of the ancillary files); return their row counts."""
    rows = ancillary_rows(engine)
    n_anc = write_jsonl(stage_dir / ANCILLARY_FILE, rows)
    n_sums = write_jsonl(stage_dir / CHECKSUMS_FILE, checksum_rows(engine, vo, served, rows))
    return {"ancillary": n_anc, "checksums": n_sums}
