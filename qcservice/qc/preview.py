"""Small previews of raw frames and master calibrations, for the viewer's frame pages.

Per IFU a thumbnail of at most ``THUMB`` pixels a side, sampled with a stride from the
memory-mapped data (bounded memory: a full-size CHAN is never read whole), each
stretched on its own; a raw frame's 24 are laid out as the viewer's grids lay out the
IFUs (6 x 4, IFU 1 top left) in one PNG, kind ``preview``, written where QC writes the
cube images. A master calibration (one IFU per file) gets its own thumbnail.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from qcservice.qc.result import Image

THUMB = 96
COLUMNS, ROWS = 6, 4


def thumbnail(data: np.ndarray, convert=None) -> np.ndarray:
    """``data`` (an image, FITS order: first row at the bottom) sampled with a stride to
    at most THUMB pixels a side, top row first, as float; ``convert`` turns the sampled
    stored values into physical ones."""
    step = max(1, -(-max(data.shape) // THUMB))
    sampled = data[::step, ::step]
    return np.asarray(convert(sampled) if convert else sampled, dtype=float)[::-1]


def single(thumb: np.ndarray) -> np.ndarray:
    """One IFU's thumbnail, stretched."""
    return _stretch(thumb)


def _stretch(image: np.ndarray) -> np.ndarray:
    finite = image[np.isfinite(image)]
    if finite.size == 0:
        return np.zeros_like(image)
    lo, hi = np.percentile(finite, [1, 99])
    return np.clip((np.nan_to_num(image, nan=lo) - lo) / max(hi - lo, 1e-12), 0, 1)


def mosaic(thumbs: dict[int, np.ndarray]) -> np.ndarray:
    """The thumbnails of the IFUs in the 6 x 4 layout (IFU 1 top left), 2 pixels apart."""
    h = max(t.shape[0] for t in thumbs.values())
    w = max(t.shape[1] for t in thumbs.values())
    out = np.full((ROWS * (h + 2), COLUMNS * (w + 2)), np.nan)
    for ifu, t in thumbs.items():
        r, c = divmod(ifu - 1, COLUMNS)
        out[r * (h + 2):r * (h + 2) + t.shape[0], c * (w + 2):c * (w + 2) + t.shape[1]] = \
            _stretch(t)
    return out


def save_png(image: np.ndarray, folder: str | None, name: str, title: str,
             ifu: int | None = None) -> list[Image]:
    """Write ``image`` (values 0..1, NaN gaps) as a PNG under ``folder``; [] without one.
    Written to a temporary name and renamed, so a failed write leaves no torn file. A
    preview is an aid, not a QC result: when it cannot be written (disk full) the file's
    QC goes on without it, and the metrics and flags are stored as always."""
    if not folder:
        return []
    path = Path(folder) / name
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_png(image, tmp)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        return []
    return [Image("preview", str(path), title, ifu)]


def write_png(image: np.ndarray, target) -> None:
    """``image`` (values 0..1, NaN gaps shown white) as a grey PNG into ``target`` (a path
    or a binary file); matplotlib's image module, no pyplot state."""
    from matplotlib import image as mimage

    shown = np.where(np.isfinite(image), image, 1.0)
    mimage.imsave(target, shown, cmap="gray", vmin=0, vmax=1, format="png")
