"""Static calibrations (LINE_CATALOG, GEOMETRY_TABLE, ...) as association candidates.

They are files with ``ESO PRO CATG`` in a folder of their own (the simulator writes
them next to its nights, ``musedc simulate`` -> ``OUTDIR/static``; at a real site it
is the ``-calib`` kit of the pipeline). They hold no IFU and no night: the OCA rules
classify them like any product.
"""

from __future__ import annotations

from pathlib import Path

from astropy.io import fits

from qcservice.reduce.associate import Frame
from qcservice.reduce.esorex import file_sha256
from qcservice.reduce.oca import Rules


def static_frames(rules: Rules, directory: Path | None) -> list[Frame]:
    """The classified static calibrations under ``directory`` (none without one)."""
    if directory is None or not Path(directory).is_dir():
        return []
    frames = []
    for path in sorted(Path(directory).glob("*.fits")):
        header = {k: v for k, v in fits.getheader(path).items() if k not in ("COMMENT",
                                                                              "HISTORY")}
        frame = Frame(str(path.resolve()), rules.classify_frame(header))
        if frame.catg:
            frame.header["_stamp"] = file_sha256(path)
            frames.append(frame)
    return frames
