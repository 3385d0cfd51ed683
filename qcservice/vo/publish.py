"""``musedc vo publish``: stage what QC validated, import it into DaCHS, sync users.

Re-running it replaces the published tables: a product whose QA state left the
publishable set disappears from ivoa.obscore, one that entered it appears.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Engine

from qcservice.db.jobruns import job_run
from qcservice.vo.accounts import sync_users
from qcservice.vo.ancillary import stage_ancillary
from qcservice.vo.filestats import FileStats
from qcservice.vo.instance import Instance
from qcservice.vo.qcstage import qc_rows, spectra_rows
from qcservice.vo.stage import preview_rows, product_rows, write_jsonl
from qcservice.vocabulary import PUBLISHED_CATEGORIES

REGISTERED = ("//services", "//tap", "//siap2", "muse/q", "muse/ssa")


@dataclass(frozen=True)
class PublishReport:
    products: int
    inputs: int
    metrics: int
    users: int
    memberships: int

    def describe(self) -> str:
        return (f"published {self.products} cubes and images ({self.inputs} inputs, "
                f"{self.metrics} metrics); DaCHS users {self.users}, "
                f"group memberships {self.memberships}")


def stage(engine: Engine, inst: Instance) -> dict[str, int]:
    """Write every staging file; return the row count of each."""
    inst.stage_dir.mkdir(parents=True, exist_ok=True)
    stats = FileStats(inst.stage_dir / "filestats.json")
    products = product_rows(engine, inst.vo, stats)
    counts = {"products": write_jsonl(inst.stage_dir / "products.jsonl", products),
              "previews": write_jsonl(inst.stage_dir / "previews.jsonl",
                                      preview_rows(products))}
    qc = qc_rows(engine, [p["file_id"] for p in products], PUBLISHED_CATEGORIES)
    for name, rows in qc.items():
        counts[name] = write_jsonl(inst.stage_dir / f"{name}.jsonl", rows)
    spectra = spectra_rows(engine, inst.vo, stats,
                           {p["p_accref"] for p in products})
    stats.save()
    counts["spectra"] = write_jsonl(inst.stage_dir / "spectra.jsonl", spectra)
    served = {r["file_id"]: r["p_accref"] for r in (*products, *qc["inputs"], *spectra)}
    counts.update(stage_ancillary(engine, inst.stage_dir, inst.vo, served))
    (inst.stage_dir / "site.json").write_text(json.dumps({"viewer_url": inst.vo.viewer_url}))
    inst.chown()
    return counts


def proprietary_lines(inst: Instance) -> list[str]:
    """What the last publish holds under embargo (name, release date, access group), one
    line a product: anonymous clients get 401 for these on every pixel path."""
    out = []
    for name in ("products.jsonl", "spectra.jsonl"):
        path = inst.stage_dir / name
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row.get("p_embargo"):
                out.append(f"{row['p_accref'].rsplit('/', 1)[-1]} (file {row['file_id']}): "
                           f"proprietary until {row['p_embargo']}, members of "
                           f"{row['p_owner']} only")
    return out


def publish(engine: Engine, inst: Instance) -> PublishReport:
    """Stage, import ``muse/q`` into DaCHS, and sync users; recorded in qc.job_runs."""
    if not inst.initialised():
        inst.init()
    else:
        inst.install_files()
    args = {"publishable": list(inst.vo.publishable)}
    with job_run(engine, "publish", args) as run:
        counts = stage(engine, inst)
        inst.run("imp", "muse/q")
        inst.run("imp", "muse/ssa")
        # the resource records of the OAI-PMH interface: authority, registry, TAP (with
        # its tables), SIAv2, SSA; DataLink/SODA are capabilities of the products' tables
        inst.run("pub", *REGISTERED)
        users, memberships = sync_users(engine)
        report = PublishReport(counts["products"], counts["inputs"], counts["metrics"],
                               users, memberships)
        run.done, run.message = report.products, report.describe()
    return report
