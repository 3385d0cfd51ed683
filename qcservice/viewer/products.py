"""What a product page shows of the product itself: the spectrum of a SPECTRUM_1D (with
its error) and the picture of an IMAGE_FOV. Both are small (a few thousand values, an
image of 320 x 320 at most), read on demand from the file where it lies."""

from __future__ import annotations

import io

import numpy as np
from astropy.io import fits

from qcservice.vocabulary import N_IFU

MAX_POINTS = 4000     # a longer spectrum is binned down to this many points
MAX_PIXELS = 640      # a larger image is subsampled to at most this many pixels a side


def spectrum(path: str) -> dict | None:
    """{x, y, err, x_unit, y_unit} of the SPECTRUM table's first row; None when the file
    has no such table (or is gone)."""
    try:
        with fits.open(path, memmap=False) as hdus:
            if "SPECTRUM" not in hdus:
                return None
            table = hdus["SPECTRUM"]
            row = table.data[0]
            wave, flux, err = (np.asarray(row[c], float) for c in ("WAVE", "FLUX", "ERR"))
            units = (table.columns["WAVE"].unit or "", table.columns["FLUX"].unit or "")
    except (OSError, KeyError, IndexError, ValueError):
        return None
    step = max(1, -(-wave.size // MAX_POINTS))
    pick = slice(None, None, step)

    def clean(a: np.ndarray) -> list:
        return [None if not np.isfinite(v) else round(float(v), 6) for v in a[pick]]
    return {"x": clean(wave), "y": clean(flux), "err": clean(err), "x_unit": units[0],
            "y_unit": units[1]}


def raw_preview_png(path: str) -> bytes | None:
    """The 24 CHANs of a raw frame as QC's preview mosaic (qcservice.qc.preview), made on
    demand for the frames QC does not check (science, standard stars): strided reads of
    the memory-mapped data, so a full-size 860 MB frame costs a few MB. None when the
    file has no CHAN extension that can be read."""
    from qcservice.fits.header import read_headers
    from qcservice.fits.rawpix import map_chan, physical
    from qcservice.qc import preview

    try:
        thumbs = {int(h.extname[4:]): preview.thumbnail(map_chan(path, h), physical)
                  for h in read_headers(path)
                  if (h.extname or "").startswith("CHAN") and h.extname[4:].isdigit()}
    except (OSError, ValueError):
        return None
    if not thumbs or not all(1 <= i <= N_IFU for i in thumbs):
        return None
    buf = io.BytesIO()
    preview.write_png(preview.mosaic(thumbs), buf)
    return buf.getvalue()


def image_png(path: str) -> bytes | None:
    """A PNG of the first 2D image HDU (DATA when there is one), stretched as QC's images
    are; None when the file holds no image."""
    try:
        with fits.open(path, memmap=True) as hdus:
            names = [h.name for h in hdus]
            order = [names.index("DATA")] if "DATA" in names else range(len(hdus))
            data = next((hdus[i].data for i in order
                         if hdus[i].data is not None and hdus[i].data.ndim == 2), None)
            if data is None:
                return None
            step = max(1, -(-max(data.shape) // MAX_PIXELS))
            image = np.array(data[::step, ::step], dtype=float)
    except (OSError, ValueError):
        return None
    from matplotlib import image as mimage  # no pyplot state: safe in a web thread

    from qcservice.qc.plots import _stretch  # the same stretch as QC's images

    buf = io.BytesIO()
    mimage.imsave(buf, _stretch(image), cmap="gray", origin="lower", format="png")
    return buf.getvalue()
