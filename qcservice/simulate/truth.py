"""``truth.json``: everything a simulated night contains, for tests to check against.

Top-level keys (see :meth:`NightTruth.to_dict`): ``schema``, ``night``, ``seed``,
``scale``, ``modes``, ``faults_enabled``, ``conventions``, ``detector``,
``calibrations``, ``exposures``, ``cubes``, ``faults`` and ``files``.

``files`` maps the path of every FITS file written, relative to the night directory
(the folder that holds truth.json, e.g. ``raw/MUSE.2014-12-08T02:48:56.798.fits``), to
a record with always the same keys: ``kind`` ("raw" or "product"), ``dpr_catg``,
``dpr_type``, ``dpr_tech`` (raw; null for products), ``pro_catg`` (products; null for
raw), ``ifu`` (1..24 for per-IFU products, else null), ``night`` (YYYY-MM-DD),
``ins_mode`` and ``broken`` (null, or why the file is broken on purpose).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = "musedc-simulate-truth/1"
CONVENTIONS = {
    "files_relative_to": "the night directory (the folder holding this truth.json)",
    "ccd_pixels": "numpy order (row=y, column=x), 0-based, in the trimmed image "
                  "(2*ny rows x 2*nx columns) unless a key says raw",
    "cube_spaxels": "x = column (FITS axis 1), y = row (FITS axis 2), 0-based: the FITS "
                    "pixel is x + 1, y + 1",
    "quadrants": "1 bottom-left, 2 bottom-right, 3 top-right, 4 top-left (ESO DET OUTn)",
    "flux_unit": "10**(-20)*erg/s/cm**2/Angstrom (cube, image, spectra)",
    "line_flux_unit": "10**(-20)*erg/s/cm**2",
    "wavelength_unit": "Angstrom, in air",
    "gain_unit": "e-/ADU (as the MUSE pipeline reads ESO DET OUTn GAIN)",
    "ron_e": "ron_adu * gain",
    "master_dq_flags": {"hot_pixel": 256, "saturated": 4096},
    "cube_dq_flags": {"bad_voxel": 1, "nad_notch": 2},
    "nan": "cube DATA and STAT are NaN where DQ != 0; SPECTRUM_1D FLUX/ERR NaN where the "
           "whole aperture is",
}


@dataclass(frozen=True)
class FileRecord:
    """One entry of the ``files`` map."""

    kind: str
    night: str
    ins_mode: str
    dpr_catg: str | None = None
    dpr_type: str | None = None
    dpr_tech: str | None = None
    pro_catg: str | None = None
    ifu: int | None = None
    broken: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "dpr_catg": self.dpr_catg, "dpr_type": self.dpr_type,
                "dpr_tech": self.dpr_tech, "pro_catg": self.pro_catg, "ifu": self.ifu,
                "night": self.night, "ins_mode": self.ins_mode, "broken": self.broken}


@dataclass
class NightTruth:
    """What :func:`simulate_night` injected; written as ``<night>/truth.json``."""

    night: dt.date
    seed: int
    scale: str
    modes: tuple[str, ...]
    faults_enabled: bool
    directory: Path
    detector: dict[str, Any] = field(default_factory=dict)
    calibrations: dict[str, Any] = field(default_factory=dict)
    exposures: list[dict[str, Any]] = field(default_factory=list)
    cubes: list[dict[str, Any]] = field(default_factory=list)
    faults: list[dict[str, Any]] = field(default_factory=list)
    files: dict[str, FileRecord] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def path(self) -> Path:
        """Where truth.json is written."""
        return self.directory / "truth.json"

    def add_file(self, relpath: str, record: FileRecord) -> None:
        """Record a written file (thread-safe: IFUs are written in parallel)."""
        with self._lock:
            self.files[relpath] = record

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "night": self.night.isoformat(),
            "seed": self.seed,
            "scale": self.scale,
            "modes": list(self.modes),
            "faults_enabled": self.faults_enabled,
            "conventions": CONVENTIONS,
            "detector": self.detector,
            "calibrations": self.calibrations,
            "exposures": self.exposures,
            "cubes": self.cubes,
            "faults": self.faults,
            "files": {k: self.files[k].to_dict() for k in sorted(self.files)},
        }

    def write(self) -> Path:
        """Write truth.json (sorted file map, stable formatting) and return its path."""
        self.path.write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        return self.path


def load_truth(path: Path) -> dict[str, Any]:
    """Read a truth.json (a night directory or the file itself)."""
    path = Path(path)
    if path.is_dir():
        path = path / "truth.json"
    return json.loads(path.read_text())
