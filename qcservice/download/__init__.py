"""Bulk downloads of final products.

- ``vo``: the query (TAP), each product's ``#this`` link (DataLink) and the checksums
  taken at ingest (``muse.file_checksums``);
- ``fetch``: one file, resumable (HTTP Range) and verified (SHA-256);
- ``bulk``: the whole selection, K at a time, with its report (``musedc download``),
  laid out as ``qcservice.delivery`` says (which the viewer's scripts and archives share).
"""
