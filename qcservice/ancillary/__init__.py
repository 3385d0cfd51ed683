"""Ancillary data: images, cubes and catalogues of other instruments, registered by their
sky footprint (``qc.ancillary``) and linked from the MUSE products they overlap.

- ``reader``: what a file is and where on the sky (WCS or catalogue extent);
- ``register``: ``qc.ancillary`` rows, idempotent by path;
- ``overlap``: the ancillary data overlapping a product (viewer, CLI);
- ``cli``: ``musedc ancillary add | list | remove``.

The VO side (TAP table ``muse.ancillary``, DataLink ``#counterpart``) is staged by
``qcservice.vo.ancillary``.
"""
